-- Least privilege for the app's role in the Users database: read and write rows, nothing else. No DDL (the migration
-- bundle, run by the deployment principal, owns the schema), no ownership, no TRUNCATE, no GRANT OPTION: the PostgreSQL
-- counterpart of deploy/azuresql/grant-app-user.sql (db_datareader + db_datawriter).
-- Rerunnable: GRANT and ALTER DEFAULT PRIVILEGES change nothing when the privilege is already there.
--
-- Run it in the Users database as the server's Entra admin (who ran the migrations, so owns the tables), after the
-- migration bundle, with the psql variable app_role (the role create-app-role.sql made).

GRANT CONNECT ON DATABASE :"DBNAME" TO :"app_role";
GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";

-- Tables a later migration adds get the same rights from the moment they exist, not only from the next grant run.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";

\echo Role :"app_role" can read and write the rows of :"DBNAME".
