-- Runs once, when the PostgreSQL volume is first initialised: the pgvector extension in the
-- application database (the image ships it; a database gets it only when created).
CREATE EXTENSION IF NOT EXISTS vector;
