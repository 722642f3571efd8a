-- Requests also arrive by phone and in person: on SQLite, 0013's rebuild of `requests`
-- already checks the new channels (PostgreSQL replaces its constraint here).
SELECT 1;
