"""The panes of the console, one module per pane."""
