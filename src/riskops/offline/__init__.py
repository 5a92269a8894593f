"""The offline store: decisions (with the feature vectors they used) and labels as Parquet."""
