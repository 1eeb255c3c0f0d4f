"""The quarterly run (papermill), the ``workbook`` command line, the index page."""
