"""The dial-in page in Airflow's UI: a server-rendered page and two JSON endpoints on the API
server, mounted by :class:`daily_dialin.ui.plugin.DailyDialinUIPlugin` at ``/daily-dialin``.

* :mod:`.sources` - which provisioning DAG serves which meetings table;
* :mod:`.access` - Airflow's auth manager on every route (401 anonymous, 403 no access to the DAG);
* :mod:`.data` - the list and the tiles, read through :class:`~daily_dialin.provisioning.table.MeetingsTable`;
* :mod:`.keyset` - the list's keyset pages (cursors); :mod:`.snapshot` - every row's state from one
  pass (the tiles' counts, the ids of the rows in rare states), kept for a minute;
* :mod:`.page` - the HTML (``page.js`` and ``page.css`` inlined; Airflow's colours, light and dark);
* :mod:`.app` - the FastAPI app; :mod:`.plugin` - the plugin.

May import: nothing (a package docstring).
"""
