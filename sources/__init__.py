"""Data-source adapters: headless producers of events. Nothing here imports textual."""
