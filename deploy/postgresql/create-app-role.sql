-- The app's managed identity as a PostgreSQL role: a login and nothing else (no superuser, no CREATEDB, no CREATEROLE,
-- not azure_pg_admin). Rerunnable: the role is created only if it does not exist yet.
--
-- Run it in the server's "postgres" database (Azure's pgaadauth_* functions live only there; roles are the server's)
-- as the server's Entra admin, with the psql variables
--   app_role       the identity's name (Bicep output APP_IDENTITY_NAME): the role's name, and the app's Username
--   app_object_id  the identity's object (principal) id (APP_IDENTITY_PRINCIPAL_ID): Entra maps the role by it, so no
--                  Graph lookup by name is needed (names need not be unique)
-- deploy/grant-app-user-postgresql.sh does that, then runs grant-app-user.sql in the Users database.

SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'app_role') AS create_app_role \gset

\if :create_app_role
    -- (role name, Entra object id, object type, member of azure_pg_admin?, MFA required?)
    SELECT * FROM pgaadauth_create_principal_with_oid(:'app_role', :'app_object_id', 'service', false, false);
\else
    \echo Role :"app_role" already exists.
\endif
