"""The benchmark's harness, run by ``python bench/run.py`` (bench/run.py explains what it
measures). One module per concern:

- ``plan``: paths, fixed figures, and the plan built from the command line;
- ``processes``: the child processes (emulator, receiver, ceiling, Prism), each binding
  port 0 and read for the address it got, stopped by id;
- ``sessions``: the API the load drives, and the data files wrk's Lua scripts read;
- ``wrk``: one wrk run, its figures, and the CPU others used meanwhile;
- ``measurements``: the steps (cold start, load, RSS, callback lag, twilio-python);
- ``report``: the Markdown section printed and appended to bench/RESULTS.md;
- ``main``: the command itself.
"""
