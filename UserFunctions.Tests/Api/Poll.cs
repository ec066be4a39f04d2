namespace UserFunctions.Tests.Api;

/// <summary>Waits for something another process does; gives up after 30 s. Never a timing assertion.</summary>
internal static class Poll
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static async Task<T> ForAsync<T>(Func<T?> probe) where T : class
    {
        var deadline = DateTime.UtcNow + Limit;
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } found)
            {
                return found;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"Gave up waiting after {Limit.TotalSeconds} s.");
    }

    public static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Gave up waiting after {Limit.TotalSeconds} s.");
            }

            await Task.Delay(50);
        }
    }
}
