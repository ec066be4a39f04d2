using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace UserFunctions.Tests.Docs;

/// <summary>
/// Checks the relative links of Markdown files the way GitHub resolves them: each must name a file or folder inside the
/// repository, and a <c>#fragment</c> into a Markdown file must name one of its headings. Absolute http(s) and mailto
/// links are not checked. A small reader of the subset of Markdown the repository uses (ATX headings, inline links,
/// reference definitions, code fences and code spans), not a full CommonMark parser.
/// </summary>
internal static partial class MarkdownLinks
{
    private static readonly string[] SkippedFolders = ["bin", "obj", "node_modules", ".git"];

    public static IEnumerable<string> FilesUnder(string root) =>
        Directory.EnumerateFiles(root, "*.md", SearchOption.AllDirectories)
            .Where(file => !Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar).SkipLast(1).Any(SkippedFolders.Contains))
            .Order(StringComparer.Ordinal);

    /// <returns>One line per broken link: the file (relative to <paramref name="root"/>), the line, the link and what is wrong.</returns>
    public static IEnumerable<string> Problems(string root, string file)
    {
        root = Path.GetFullPath(root);
        var lines = Prose(File.ReadAllLines(file));
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (var target in LinkTargets(lines[i]))
            {
                if (Check(root, file, target) is { } problem)
                {
                    yield return $"{Path.GetRelativePath(root, file)}:{i + 1}: ({target}) {problem}";
                }
            }
        }
    }

    /// <summary>The anchors GitHub gives the headings of a Markdown document.</summary>
    public static IReadOnlySet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in Prose(markdown.Split('\n')))
        {
            if (AtxHeading().Match(line) is { Success: true } heading)
            {
                var slug = Slug(heading.Groups["text"].Value);
                // GitHub numbers repeated headings: intro, intro-1, intro-2.
                var repeat = seen.GetValueOrDefault(slug);
                seen[slug] = repeat + 1;
                anchors.Add(repeat == 0 ? slug : $"{slug}-{repeat}");
            }

            foreach (Match html in HtmlAnchor().Matches(line))
            {
                anchors.Add(html.Groups["id"].Value);
            }
        }

        return anchors;
    }

    /// <summary>
    /// GitHub's heading slug: the heading's text as rendered (code spans, emphasis and links reduced to their text),
    /// lower-cased, every character but letters, digits, marks, '-', '_' and spaces removed, spaces turned into '-'.
    /// </summary>
    public static string Slug(string heading)
    {
        var text = InlineLink().Replace(heading.Trim(), "${text}").Replace("`", "", StringComparison.Ordinal).Replace("*", "", StringComparison.Ordinal);
        text = HtmlTag().Replace(text, "");
        var slug = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            if (c == ' ')
            {
                slug.Append('-');
            }
            else if (c is '-' or '_' || char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
                or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.LetterNumber)
            {
                slug.Append(c);
            }
        }

        return slug.ToString();
    }

    /// <summary>The link targets of one line of prose: inline links and images, and reference definitions.</summary>
    public static IEnumerable<string> LinkTargets(string line)
    {
        // A code span shows its text literally: nothing in it is a link.
        var prose = CodeSpan().Replace(line, match => new string(' ', match.Length));
        foreach (Match link in InlineLink().Matches(prose))
        {
            yield return link.Groups["target"].Value.Trim('<', '>');
        }

        if (ReferenceDefinition().Match(prose) is { Success: true } definition)
        {
            yield return definition.Groups["target"].Value.Trim('<', '>');
        }
    }

    private static string? Check(string root, string file, string target)
    {
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (target.StartsWith("//", StringComparison.Ordinal) || Scheme().IsMatch(target))
        {
            return "leaves the repository: only relative and http(s) links are allowed";
        }

        var hash = target.IndexOf('#', StringComparison.Ordinal);
        var pathPart = hash < 0 ? target : target[..hash];
        var fragment = hash < 0 ? "" : Uri.UnescapeDataString(target[(hash + 1)..]);
        var query = pathPart.IndexOf('?', StringComparison.Ordinal);
        pathPart = Uri.UnescapeDataString(query < 0 ? pathPart : pathPart[..query]);

        string resolved;
        if (pathPart.Length == 0)
        {
            resolved = file;
        }
        else
        {
            // As on GitHub, a path starting with '/' starts at the repository's root.
            resolved = Path.GetFullPath(pathPart.StartsWith('/')
                ? Path.Combine(root, pathPart.TrimStart('/'))
                : Path.Combine(Path.GetDirectoryName(file)!, pathPart));
            if (resolved != root && !resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return "leaves the repository";
            }

            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                return "names a file that does not exist";
            }
        }

        if (fragment.Length > 0 && File.Exists(resolved) && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase)
            && !Anchors(File.ReadAllText(resolved)).Contains(fragment))
        {
            return $"names a heading that {Path.GetFileName(resolved)} does not have";
        }

        return null;
    }

    /// <summary>The lines with fenced code blocks blanked out (line numbers stay), since nothing in them is Markdown.</summary>
    private static string[] Prose(IEnumerable<string> lines)
    {
        var result = new List<string>();
        string? fence = null;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (CodeFence().Match(line) is { Success: true } match)
            {
                var marker = match.Groups["fence"].Value;
                if (fence is null)
                {
                    fence = marker;
                    result.Add("");
                    continue;
                }

                if (marker[0] == fence[0] && marker.Length >= fence.Length && match.Groups["info"].Value.Trim().Length == 0)
                {
                    fence = null;
                    result.Add("");
                    continue;
                }
            }

            result.Add(fence is null ? line : "");
        }

        return [.. result];
    }

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,}|~{3,})(?<info>.*)$")]
    private static partial Regex CodeFence();

    [GeneratedRegex(@"^ {0,3}#{1,6}[ \t]+(?<text>.*?)(?:[ \t]+#+)?[ \t]*$")]
    private static partial Regex AtxHeading();

    [GeneratedRegex(@"(`+)(?!`).*?(?<!`)\1(?!`)")]
    private static partial Regex CodeSpan();

    // [text](target "title") and ![alt](target); the text may hold one level of brackets.
    [GeneratedRegex(@"!?\[(?<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(?<target><[^>]*>|[^\s)]+)(?:\s+(?:""[^""]*""|'[^']*'))?\s*\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^ {0,3}\[[^\]]+\]:\s*(?<target>\S+)")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"<a\s[^>]*\b(?:id|name)=""(?<id>[^""]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlAnchor();

    [GeneratedRegex(@"<[^>]+>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();
}
