"""Platform maintenance for administrators: emptying the data of a development install."""
