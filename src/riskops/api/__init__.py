"""HTTP edges shared by every router: errors, auth dependencies, body limits."""
