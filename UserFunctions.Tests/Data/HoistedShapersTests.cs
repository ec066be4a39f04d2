using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core.Data;

#pragma warning disable EF9100 // The processor EF marks experimental is what these tests guard.

namespace UserFunctions.Tests.Data;

/// <summary>Core's contexts compile each query's shaper once (<see cref="HoistedShapers"/>), on every provider.</summary>
public class HoistedShapersTests
{
    [Theory]
    [InlineData("Sqlite", "Data Source=hoisted.db")]
    [InlineData("SqlServer", "Server=tcp:localhost;Database=users")]
    [InlineData("PostgreSql", "Host=localhost;Database=users")]
    public void EveryProvidersContextUsesTheHoistingProcessor(string provider, string connectionString)
    {
        using var services = new ServiceCollection().AddUsersData(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = connectionString,
        }).Build()).BuildServiceProvider();
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

        Assert.IsType<HoistedShapers.Processor>(db.GetService<ILiftableConstantProcessor>());
    }

    // The processor extends the relational one: a provider with a processor of its own would lose it.
    [Fact]
    public void EveryProviderOnItsOwnUsesTheRelationalProcessorThatHoistingExtends()
    {
        DbContextOptionsBuilder[] providers =
        [
            new DbContextOptionsBuilder().UseSqlite("Data Source=:memory:"),
            new DbContextOptionsBuilder().UseSqlServer("Server=tcp:localhost;Database=users"),
            new DbContextOptionsBuilder().UseNpgsql("Host=localhost;Database=users"),
        ];

        foreach (var options in providers)
        {
            using var db = new DbContext(options.Options);
            Assert.Equal(typeof(RelationalLiftableConstantProcessor), db.GetService<ILiftableConstantProcessor>().GetType());
        }
    }

    [Fact]
    public void ANestedLambdaThatUsesNothingAroundItBecomesItsCompiledDelegate()
    {
        var outer = Expression.Parameter(typeof(int), "outer");
        var inner = Expression.Parameter(typeof(int), "inner");
        var closed = Expression.Lambda<Func<int, int>>(Expression.Add(inner, Expression.Constant(1)), inner);
        var executor = Expression.Lambda<Func<int, int>>(Expression.Invoke(closed, outer), outer);

        var hoisted = (Expression<Func<int, int>>)HoistedShapers.Hoist(executor);

        var constant = Assert.IsAssignableFrom<ConstantExpression>(((InvocationExpression)hoisted.Body).Expression);
        Assert.IsType<Func<int, int>>(constant.Value);
        Assert.Equal(42, hoisted.Compile()(41));
    }

    [Fact]
    public void ANestedLambdaWithItsOwnBlockVariablesIsStillHoisted()
    {
        var outer = Expression.Parameter(typeof(int), "outer");
        var inner = Expression.Parameter(typeof(int), "inner");
        var local = Expression.Variable(typeof(int), "local");
        var closed = Expression.Lambda<Func<int, int>>(
            Expression.Block([local], Expression.Assign(local, Expression.Multiply(inner, Expression.Constant(2))), local), inner);
        var executor = Expression.Lambda<Func<int, int>>(Expression.Invoke(closed, outer), outer);

        var hoisted = (Expression<Func<int, int>>)HoistedShapers.Hoist(executor);

        Assert.IsAssignableFrom<ConstantExpression>(((InvocationExpression)hoisted.Body).Expression);
        Assert.Equal(42, hoisted.Compile()(21));
    }

    [Fact]
    public void ANestedLambdaThatUsesAnOuterParameterStaysInTheTree()
    {
        var outer = Expression.Parameter(typeof(int), "outer");
        var inner = Expression.Parameter(typeof(int), "inner");
        var capturing = Expression.Lambda<Func<int, int>>(Expression.Add(inner, outer), inner);
        var executor = Expression.Lambda<Func<int, int>>(Expression.Invoke(capturing, Expression.Constant(2)), outer);

        var hoisted = (Expression<Func<int, int>>)HoistedShapers.Hoist(executor);

        Assert.IsAssignableFrom<Expression<Func<int, int>>>(((InvocationExpression)hoisted.Body).Expression);
        Assert.Equal(42, hoisted.Compile()(40));
    }

    [Fact]
    public void AQuotedLambdaStaysAnExpressionTree()
    {
        var outer = Expression.Parameter(typeof(int), "outer");
        var inner = Expression.Parameter(typeof(int), "inner");
        var quoted = Expression.Quote(Expression.Lambda<Func<int, int>>(inner, inner));
        var executor = Expression.Lambda<Func<int, Expression<Func<int, int>>>>(quoted, outer);

        var hoisted = (Expression<Func<int, Expression<Func<int, int>>>>)HoistedShapers.Hoist(executor);

        Assert.Same(quoted, hoisted.Body);
        Assert.Equal(7, hoisted.Compile()(0).Compile()(7));
    }
}
