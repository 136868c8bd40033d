-- roles.sql - least-privilege roles for callscope on your own PostgreSQL.
--
-- Run as a superuser (or the database owner) once, in the database that
-- callscope will use, after choosing the passwords:
--
--     createdb callscope
--     psql -d callscope -v owner_pw="'...'" -v app_pw="'...'" -f roles.sql
--
-- callscope_owner owns the schema and is what migrations need (they run on
-- every connection and create or alter tables only when a new version of
-- callscope brings one). Run one `callscope db migrate` as the owner after
-- each upgrade; the jobs then connect as callscope_app, which can read
-- and write rows but not change the schema. No role here may log in to
-- other databases, create roles or databases, or read files on the server.

CREATE ROLE callscope_owner LOGIN PASSWORD :owner_pw
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE ROLE callscope_app LOGIN PASSWORD :app_pw
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;

REVOKE ALL ON DATABASE callscope FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE callscope TO callscope_owner,
    callscope_app;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO callscope_owner;
GRANT USAGE ON SCHEMA public TO callscope_app;

-- Tables and sequences the owner creates (now and in later migrations)
-- are usable by the app role without further grants.
ALTER DEFAULT PRIVILEGES FOR ROLE callscope_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO callscope_app;
ALTER DEFAULT PRIVILEGES FOR ROLE callscope_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO callscope_app;

-- The jobs take advisory locks (pg_advisory_lock) and read the time zone
-- names (pg_timezone_names): both are open to every role by default.
