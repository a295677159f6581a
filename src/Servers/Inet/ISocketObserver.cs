// How the engine tells the server that a socket's readiness changed (readable, writable,
// acceptable, error, closed): the server then wakes the program that waits on it. Called from
// inside engine calls; the observer must not call back into the engine.
namespace Bulkhead.Servers.Inet;

public interface ISocketObserver
{
    void ReadinessChanged(NetSocket socket);
}
