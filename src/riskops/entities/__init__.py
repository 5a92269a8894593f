"""Entity views: everything known about one card, account, device, merchant or IP."""
