"""Invitations: turn provisioned meetings into RFC 5545 calendar files people can tap to join.

The ``daily_dialin_invitations`` DAG runs whenever the provisioning DAG updates the meetings
asset. For each meeting provisioned or changed since the last run it writes an attendee file
(video link, every dial-in number, the PIN, one-tap ``tel:+N,,PIN`` strings) and, when host links
are on, a separate host file whose link carries a meeting owner token. Moved meetings get their
files rewritten with a higher ``SEQUENCE``; cancelled ones get a ``METHOD:CANCEL`` file. The
occurrences of a recurring series (rows sharing a ``series_id``, one room, one PIN) get one file
per series: ``RDATE`` for each occurrence, ``EXDATE`` for cancelled ones, ``RECURRENCE-ID``
overrides for moved ones.

Modules, one concern each:

* :mod:`.settings` - the ``daily_invitations`` Variable's model and the storage base;
* :mod:`.numbers` - the dial-in numbers of one meeting and their one-tap strings;
* :mod:`.content` - what an invite says, read from a meetings-table row, and its fingerprint;
* :mod:`.series` - a series' invite, built from all its rows (anchors, overrides, exclusions);
* :mod:`.tokens` - owner tokens for host links (self-signed JWT or ``POST /meeting-tokens``);
* :mod:`.ical` - rendering an invite or a cancellation as iCalendar bytes;
* :mod:`.manifest` - what was last published per meeting (fingerprint, ``SEQUENCE``, stamp);
* :mod:`.store` - where the files and the manifest live (an ``ObjectStoragePath``);
* :mod:`.plan` - which groups (a one-off meeting, a series) need a new file: one path, pure logic;
* :mod:`.run` - the DAG's steps.
"""
