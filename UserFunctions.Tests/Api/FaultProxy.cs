using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace UserFunctions.Tests.Api;

/// <summary>
/// A loopback TCP proxy between a host and its PostgreSQL server that breaks the line for real, the way a network fault, a
/// failover or an overloaded server looks to the database client: it can refuse new connections, stall them, cut every open
/// one, or let the server run a chosen statement and then cut the connection before the reply reaches the client (a lost
/// acknowledgement). Every fault is undone by disposing what started it, and everything stops with the proxy.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly ConcurrentDictionary<Link, byte> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile NewConnections _newConnections = NewConnections.Pass;
    private LostReply? _loseReply;
    private int _accepted;

    public FaultProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    private enum NewConnections
    {
        Pass,
        Refuse,
        Stall,
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many connections the client has opened through the proxy.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Drops every connection and refuses new ones until the returned value is disposed: the database is gone.</summary>
    public IAsyncDisposable Cut()
    {
        var refusing = Refuse();
        DropOpenConnections();
        return refusing;
    }

    /// <summary>Resets every new connection at once, until the returned value is disposed; open ones carry on.</summary>
    public IAsyncDisposable Refuse() => Set(NewConnections.Refuse);

    /// <summary>Accepts new connections but never answers on them, until the returned value is disposed: opening one times out.</summary>
    public IAsyncDisposable Stall() => Set(NewConnections.Stall);

    /// <summary>Resets every open connection once; new ones pass.</summary>
    public void DropOpenConnections()
    {
        foreach (var link in _open.Keys)
        {
            link.Drop();
        }
    }

    /// <summary>
    /// Arms a lost acknowledgement: the next client message that contains <paramref name="statement"/> (for example
    /// <c>INSERT INTO "Users"</c> or <c>COMMIT</c>) reaches the server, the server runs it and answers, and the proxy then resets the
    /// connection without relaying the answer. The task completes when that happened.
    /// </summary>
    public Task LoseNextReplyTo(string statement)
    {
        var lost = new LostReply(Encoding.UTF8.GetBytes(statement));
        if (Interlocked.CompareExchange(ref _loseReply, lost, null) is not null)
        {
            throw new InvalidOperationException("A lost reply is already armed.");
        }

        return lost.Done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropOpenConnections();
        await _accepting;
        _stop.Dispose();
    }

    private Restore Set(NewConnections mode)
    {
        _newConnections = mode;
        return new Restore(this);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            _ = PipeAsync(new Link(client, new Socket(SocketType.Stream, ProtocolType.Tcp)));
        }
    }

    private async Task PipeAsync(Link link)
    {
        _open[link] = 0;
        try
        {
            // Checked only once the link is registered, so a fault at any moment reaches this connection.
            if (_newConnections == NewConnections.Refuse)
            {
                return;
            }

            while (_newConnections == NewConnections.Stall)
            {
                await Task.Delay(50, _stop.Token);
            }

            await link.Server.ConnectAsync(_upstream, _stop.Token);
            await Task.WhenAny(ClientToServerAsync(link), ServerToClientAsync(link));
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            link.Drop();
            _open.TryRemove(link, out _);
        }
    }

    private async Task ClientToServerAsync(Link link)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await link.Client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                var chunk = buffer.AsMemory(0, read);
                if (Volatile.Read(ref _loseReply) is { } lost
                    && chunk.Span.IndexOf(lost.Statement) >= 0
                    && Interlocked.CompareExchange(ref _loseReply, null, lost) == lost)
                {
                    // Set before the statement leaves, so none of its answer can slip through to the client.
                    link.Swallow(lost, RepliesExpectedTo(chunk.Span));
                }

                await link.Server.SendAsync(chunk, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServerToClientAsync(Link link)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await link.Server.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                if (link.Swallowing is { } lost)
                {
                    if (link.SwallowedReplyIsComplete(buffer.AsSpan(0, read)))
                    {
                        link.Drop();
                        lost.Done.TrySetResult();
                        return;
                    }

                    continue;
                }

                await link.Client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    // PostgreSQL's protocol after start-up: a type byte, then a big-endian length that counts itself. The server ends its answer
    // to every Sync ('S') and every simple Query ('Q') with a ReadyForQuery ('Z'); the answer is complete when all have come.
    private static int RepliesExpectedTo(ReadOnlySpan<byte> messages)
    {
        var expected = 0;
        while (messages.Length >= 5)
        {
            if (messages[0] is (byte)'S' or (byte)'Q')
            {
                expected++;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(messages[1..]);
            if (length < 4 || length + 1 > messages.Length)
            {
                break;
            }

            messages = messages[(length + 1)..];
        }

        return Math.Max(expected, 1);
    }

    private sealed class LostReply(byte[] statement)
    {
        public byte[] Statement { get; } = statement;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Link(Socket client, Socket server)
    {
        private readonly List<byte> _swallowed = [];
        private int _repliesExpected;

        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public LostReply? Swallowing { get; private set; }

        public void Swallow(LostReply lost, int repliesExpected)
        {
            _repliesExpected = repliesExpected;
            Swallowing = lost;
        }

        public bool SwallowedReplyIsComplete(ReadOnlySpan<byte> received)
        {
            _swallowed.AddRange(received);
            var messages = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_swallowed);
            var ready = 0;
            while (messages.Length >= 5)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(messages[1..]);
                if (length + 1 > messages.Length)
                {
                    break;
                }

                if (messages[0] == (byte)'Z')
                {
                    ready++;
                }

                messages = messages[(length + 1)..];
            }

            return ready >= _repliesExpected;
        }

        public void Drop()
        {
            foreach (var socket in new[] { Client, Server })
            {
                try
                {
                    // A reset, not a polite close: the client sees the connection fail, as in a real fault.
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception exception) when (exception is ObjectDisposedException or SocketException)
                {
                }
            }
        }
    }

    private sealed class Restore(FaultProxy proxy) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            proxy._newConnections = NewConnections.Pass;
            return ValueTask.CompletedTask;
        }
    }
}
