namespace UserFunctions.Core.Data;

/// <summary>
/// Where the migrations are: their own assembly, UserFunctions.Migrations, which the hosts reference. EF looks for
/// migrations by enumerating every type of that assembly, and so loads every type's base type; kept out of this assembly,
/// the lookup never loads the other providers' execution strategies (<see cref="BudgetedSqlServerExecutionStrategy"/>,
/// <see cref="BudgetedNpgsqlExecutionStrategy"/>) and their assemblies. Every context that migrates must name it, as
/// <see cref="DataServiceCollectionExtensions"/> does for the app's.
/// </summary>
public static class UsersMigrations
{
    public const string AssemblyName = "UserFunctions.Migrations";
}
