using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data;

namespace UserFunctions.Core.Users;

/// <summary>
/// The hot-path queries, compiled once per service container: EF binds a compiled query to the model it first runs on,
/// and a container has one provider (one process may hold several containers: the tests do).
/// </summary>
/// <remarks>
/// Each runs inside the execution strategy's own <c>ExecuteAsync</c>, so a read that loses its connection is retried whole.
/// A query that the strategy might retry by itself makes EF buffer its rows first, and EF decides that when it compiles
/// the query: run only this way, these compile unbuffered (PostgreSQL GET by id: 0.140 against 0.119 ms of CPU, see
/// docs/performance.md). The strategy of SQLite retries nothing and calls straight through.
/// </remarks>
public sealed class UserQueries
{
    private readonly Func<UsersDbContext, int, CancellationToken, Task<UserResponse?>> _findById =
        EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
            .AsNoTracking()
            .Where(u => u.Id == id)
            .Select(UserResponse.FromUser)
            .FirstOrDefault());

    // EF specializes the SQL for each null/non-null combination of the filters, so every variant is a plain
    // WHERE Id > @after [AND NormalizedUsername = @u] [AND NormalizedEmail = @e] served by the primary key or an index.
    private readonly Func<UsersDbContext, int, string?, string?, int, IAsyncEnumerable<UserResponse>> _listPage =
        EF.CompileAsyncQuery((UsersDbContext db, int afterId, string? normalizedUsername, string? normalizedEmail, int take) => db.Users
            .AsNoTracking()
            .Where(u => u.Id > afterId
                && (normalizedUsername == null || u.NormalizedUsername == normalizedUsername)
                && (normalizedEmail == null || u.NormalizedEmail == normalizedEmail))
            .OrderBy(u => u.Id)
            .Take(take)
            .Select(UserResponse.FromUser));

    public Task<UserResponse?> FindByIdAsync(UsersDbContext db, int id, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            (Query: _findById, Db: db, Id: id),
            static (state, ct) => state.Query(state.Db, state.Id, ct),
            cancellationToken);

    /// <summary>The page <paramref name="query"/> asks for, and whether another follows: one extra row tells, without a COUNT.</summary>
    internal Task<(List<UserResponse> Items, bool More)> ReadPageAsync(UsersDbContext db, UserListQuery query, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            (Query: _listPage, Db: db, Page: query),
            static async (state, ct) =>
            {
                var page = state.Page;
                var items = new List<UserResponse>(page.Limit + 1);
                await foreach (var user in state.Query(state.Db, page.AfterId, page.NormalizedUsername, page.NormalizedEmail, page.Limit + 1)
                    .WithCancellation(ct))
                {
                    items.Add(user);
                }

                var more = items.Count > page.Limit;
                if (more)
                {
                    items.RemoveAt(page.Limit);
                }

                return (items, more);
            },
            cancellationToken);
}
