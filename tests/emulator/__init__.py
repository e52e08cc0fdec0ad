"""Tests of the local Daily emulator, over real HTTP."""
