"""The views across panes, shown as tabs below them: committed data, the lock graph, the timeline."""
