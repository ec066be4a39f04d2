using System.Globalization;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// The list scenario's request paths: every page of the seeded users. The API's cursors are opaque (signed), so they are
/// made with Core's own <see cref="PageCursor"/>; the baseline takes the last id of the previous page as it is.
/// </summary>
internal static class Pages
{
    public static int Write(string flavour, int users, int pageSize)
    {
        for (var after = 0; after < users; after += pageSize)
        {
            var path = flavour switch
            {
                "api" when after == 0 => $"/api/users?limit={pageSize}",
                "api" => $"/api/users?limit={pageSize}&cursor={PageCursor.Encode(after)}",
                "baseline" => $"/api/users?limit={pageSize}&after={after}",
                _ => null,
            };
            if (path is null)
            {
                Console.Error.WriteLine($"pages: unknown flavour '{flavour}'; expected api or baseline");
                return 2;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}"));
        }

        return 0;
    }
}
