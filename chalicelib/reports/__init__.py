"""Daily reports: what the service decided on a day, how good it was, and what drifted.

``compute`` turns a day's decision records into the report (a JSON-ready dict, pure),
``drift`` measures population stability against the training reference the model's
manifest carries, ``html`` renders one self-contained page with inline SVG charts, and
``service`` reads, writes and schedules them (the adapters are in ``store``).
Definitions: docs/reports.md.
"""
