// IPC stubs (thesis Fig. 2.2): what a component calls to send and receive messages. Each is
// one trap; results are MINIX codes (Err), never exceptions.
namespace Bulkhead.Lib.Ipc;

public static class IpcCall
{
    public static int Send(int dst, ref Message m) => Channel.Current.Trap(Trap.Send, dst, ref m);

    public static int Receive(int src, out Message m)
    {
        m = default;
        return Channel.Current.Trap(Trap.Receive, src, ref m);
    }

    /// <summary>Sends <paramref name="m"/> and waits for the reply, which overwrites it.</summary>
    public static int SendRec(int dst, ref Message m) => Channel.Current.Trap(Trap.SendRec, dst, ref m);

    public static int SendNb(int dst, ref Message m) => Channel.Current.Trap(Trap.SendNb, dst, ref m);

    public static int Notify(int dst)
    {
        Message m = default;
        return Channel.Current.Trap(Trap.Notify, dst, ref m);
    }

    /// <summary>Hands the kernel a table of AsyncEntry at arena offset <paramref name="table"/>.</summary>
    public static int SendA(long table, int count)
    {
        Message m = default;
        return Channel.Current.Trap(Trap.SendA, 0, ref m, table, count);
    }

    /// <summary>Replies to <paramref name="to"/> (SEND, or SENDNB when <paramref name="nonBlocking"/>)
    /// and receives the next message from <paramref name="src"/> into <paramref name="m"/>, in
    /// one kernel entry. When <paramref name="replyResult"/> is not OK nothing was received.</summary>
    public static int ReplyAndReceive(int to, ref Message m, bool nonBlocking, int src, out int replyResult) =>
        Channel.Current.TrapThenReceive(nonBlocking ? Trap.SendNb : Trap.Send, to, ref m, src, out replyResult);

    public static int Self => Channel.Current.SelfEndpoint;

    public static bool IsNotify(in Message m) => m.Type == NotifyPayload.MessageType;
}
