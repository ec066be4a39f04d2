using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data;

namespace UserFunctions.Core.Users;

/// <summary>
/// The hot-path queries, compiled once per service container: EF binds a compiled query to the model it first runs on,
/// and a container has one provider (one process may hold several containers: the tests do).
/// </summary>
public sealed class UserQueries
{
    public Func<UsersDbContext, int, CancellationToken, Task<UserResponse?>> FindById { get; } =
        EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
            .AsNoTracking()
            .Where(u => u.Id == id)
            .Select(UserResponse.FromUser)
            .FirstOrDefault());

    /// <summary>
    /// EF specializes the SQL for each null/non-null combination of the filters, so every variant is a plain
    /// <c>WHERE Id &gt; @after [AND NormalizedUsername = @u] [AND NormalizedEmail = @e]</c> served by the primary key or an index.
    /// </summary>
    public Func<UsersDbContext, int, string?, string?, int, IAsyncEnumerable<UserResponse>> ListPage { get; } =
        EF.CompileAsyncQuery((UsersDbContext db, int afterId, string? normalizedUsername, string? normalizedEmail, int take) => db.Users
            .AsNoTracking()
            .Where(u => u.Id > afterId
                && (normalizedUsername == null || u.NormalizedUsername == normalizedUsername)
                && (normalizedEmail == null || u.NormalizedEmail == normalizedEmail))
            .OrderBy(u => u.Id)
            .Take(take)
            .Select(UserResponse.FromUser));

    /// <summary>The page <paramref name="query"/> asks for, and whether another follows: one extra row tells, without a COUNT.</summary>
    internal async Task<(List<UserResponse> Items, bool More)> ReadPageAsync(UsersDbContext db, UserListQuery query, CancellationToken cancellationToken)
    {
        var items = new List<UserResponse>(query.Limit + 1);
        await foreach (var user in ListPage(db, query.AfterId, query.NormalizedUsername, query.NormalizedEmail, query.Limit + 1)
            .WithCancellation(cancellationToken))
        {
            items.Add(user);
        }

        var more = items.Count > query.Limit;
        if (more)
        {
            items.RemoveAt(query.Limit);
        }

        return (items, more);
    }
}
