using UserFunctions.Tests.Infrastructure;

namespace UserFunctions.Tests.Docs;

public sealed class MarkdownLinkTests
{
    [Fact]
    public void EveryRelativeLinkInTheRepositorysMarkdownNamesAFileAndHeadingInsideIt()
    {
        var files = MarkdownLinks.FilesUnder(RepositoryRoot.Path).ToList();
        Assert.Contains(RepositoryRoot.Combine("README.md"), files);

        var problems = files.SelectMany(file => MarkdownLinks.Problems(RepositoryRoot.Path, file)).ToList();

        Assert.True(problems.Count == 0, $"Broken links:\n{string.Join('\n', problems)}");
    }

    [Theory]
    [InlineData("The two commands", "the-two-commands")]
    [InlineData("Idempotency-Key (POST and PATCH)", "idempotency-key-post-and-patch")]
    [InlineData("Parameters (`infra/main.bicep`)", "parameters-inframainbicep")]
    [InlineData("Path 1: azd", "path-1-azd")]
    [InlineData("Errors — always RFC 9457 `application/problem+json`", "errors--always-rfc-9457-applicationproblemjson")]
    [InlineData("**Bold** and [a link](other.md)", "bold-and-a-link")]
    [InlineData("snake_case names", "snake_case-names")]
    public void HeadingsGetGitHubsAnchors(string heading, string anchor) =>
        Assert.Equal(anchor, MarkdownLinks.Slug(heading));

    [Fact]
    public void RepeatedHeadingsAreNumberedAndHeadingsInCodeAreNot()
    {
        var anchors = MarkdownLinks.Anchors("# Intro\n## Intro\n```bash\n# not a heading\n```\n### Intro ###\n");

        Assert.Equal(["intro", "intro-1", "intro-2"], anchors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LinksInCodeAreNotLinks() =>
        Assert.Equal(
            ["real.md", "image.png", "defined.md"],
            MarkdownLinks.LinkTargets("see `[code](span.md)` and [real](real.md \"title\"), ![img](image.png)")
                .Concat(MarkdownLinks.LinkTargets("[ref]: defined.md")));

    [Fact]
    public void MissingFilesMissingHeadingsAndLinksOutOfTheRepositoryAreEachReported()
    {
        var root = Directory.CreateTempSubdirectory("markdown-links-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "docs"));
            File.WriteAllText(Path.Combine(root, "docs", "guide.md"), "# Guide\n## Step one\n");
            File.WriteAllText(Path.Combine(root, "README.md"), """
                # Readme
                Good: [guide](docs/guide.md), [step](docs/guide.md#step-one), [here](#readme), [folder](docs/), [web](https://example.com/x.md).
                [gone](docs/missing.md)
                [no such step](docs/guide.md#step-two)
                [outside](../elsewhere/notes.md)
                [no heading here](#nothing)
                [a file URL](file:///etc/passwd)
                ```md
                [in a fence](nowhere.md)
                ```
                """);

            var problems = MarkdownLinks.Problems(root, Path.Combine(root, "README.md")).ToList();

            Assert.Equal(
            [
                "README.md:3: (docs/missing.md) names a file that does not exist",
                "README.md:4: (docs/guide.md#step-two) names a heading that guide.md does not have",
                "README.md:5: (../elsewhere/notes.md) leaves the repository",
                "README.md:6: (#nothing) names a heading that README.md does not have",
                "README.md:7: (file:///etc/passwd) leaves the repository: only relative and http(s) links are allowed",
            ], problems);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
