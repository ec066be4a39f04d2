using System.Globalization;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// The list scenario's request paths: every page of the seeded users. The API's cursors are opaque (signed), so they are
/// made with Core's own <see cref="PageCursor"/>; the baseline takes the last id of the previous page as it is.
/// </summary>
internal static class Pages
{
    /// <summary>The <c>pages</c> command: prints one path a line.</summary>
    public static int Write(string flavour, int users, int pageSize)
    {
        if (flavour is not ("api" or "baseline"))
        {
            Console.Error.WriteLine($"pages: unknown flavour '{flavour}'; expected api or baseline");
            return 2;
        }

        foreach (var path in Of(flavour == "api", users, pageSize))
        {
            Console.WriteLine(path);
        }

        return 0;
    }

    public static IEnumerable<string> Of(bool api, int users, int pageSize)
    {
        for (var after = 0; after < users; after += pageSize)
        {
            var next = (api, after) switch
            {
                (true, 0) => "",
                (true, _) => $"&cursor={PageCursor.Encode(after)}",
                _ => string.Create(CultureInfo.InvariantCulture, $"&after={after}"),
            };
            yield return string.Create(CultureInfo.InvariantCulture, $"/api/users?limit={pageSize}{next}");
        }
    }
}
