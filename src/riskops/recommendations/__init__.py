"""The continuous half of investigations: a scan fills a recommendation queue analysts act on."""
