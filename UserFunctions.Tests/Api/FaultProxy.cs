using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace UserFunctions.Tests.Api;

/// <summary>
/// A TCP proxy between a host and its database server that can cut the line for real: while cut, it drops every open
/// connection and refuses new ones, exactly what a network fault or a failover looks like to the database client.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    public FaultProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Drops every connection and refuses new ones until the returned value is disposed.</summary>
    public IAsyncDisposable Cut()
    {
        _cut = true;
        foreach (var socket in _open.Keys)
        {
            Drop(socket);
        }

        return new Restore(this);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _open.Keys)
        {
            Drop(socket);
        }

        await _accepting;
        _stop.Dispose();
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

            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        _open[client] = 0;
        _open[server] = 0;
        try
        {
            // Checked only once the sockets are registered, so a cut at any moment reaches this connection.
            if (_cut)
            {
                return;
            }

            await server.ConnectAsync(_upstream, _stop.Token);
            await Task.WhenAny(CopyAsync(client, server), CopyAsync(server, client));
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Drop(client);
            Drop(server);
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private void Drop(Socket socket)
    {
        _open.TryRemove(socket, out _);
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

    private sealed class Restore(FaultProxy proxy) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            proxy._cut = false;
            return ValueTask.CompletedTask;
        }
    }
}
