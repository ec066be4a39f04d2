-- Least privilege for the app's managed identity in the Users database: read and write rows, nothing else.
-- No DDL (the migration bundle, run by the deployment principal, owns the schema), no db_owner, no GRANT/ALTER/CONTROL.
-- Rerunnable: every step is guarded by an existence check, so a second run changes nothing.
--
-- Run it connected to the Users database as the server's Entra admin (the deployment principal), with the
-- sqlcmd variable AppIdentityName = the name of the user-assigned identity (Bicep output APP_IDENTITY_NAME):
--   sqlcmd -S tcp:<server>.database.windows.net,1433 -d <db> --authentication-method ActiveDirectoryDefault \
--          -b -v AppIdentityName=<identity name> -i deploy/azuresql/grant-app-user.sql
-- (deploy/grant-app-user-azuresql.sh does exactly that.)

SET NOCOUNT ON;
SET XACT_ABORT ON;

IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$(AppIdentityName)')
BEGIN
    -- A contained database user for the Entra identity: no server login, no password.
    CREATE USER [$(AppIdentityName)] FROM EXTERNAL PROVIDER;
    PRINT N'Created database user [$(AppIdentityName)].';
END
ELSE
    PRINT N'Database user [$(AppIdentityName)] already exists.';
GO

IF NOT EXISTS (
    SELECT 1
    FROM sys.database_role_members AS m
    JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id
    JOIN sys.database_principals AS u ON u.principal_id = m.member_principal_id
    WHERE r.name = N'db_datareader' AND u.name = N'$(AppIdentityName)')
BEGIN
    ALTER ROLE db_datareader ADD MEMBER [$(AppIdentityName)];
    PRINT N'Added [$(AppIdentityName)] to db_datareader.';
END
GO

IF NOT EXISTS (
    SELECT 1
    FROM sys.database_role_members AS m
    JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id
    JOIN sys.database_principals AS u ON u.principal_id = m.member_principal_id
    WHERE r.name = N'db_datawriter' AND u.name = N'$(AppIdentityName)')
BEGIN
    ALTER ROLE db_datawriter ADD MEMBER [$(AppIdentityName)];
    PRINT N'Added [$(AppIdentityName)] to db_datawriter.';
END
GO
