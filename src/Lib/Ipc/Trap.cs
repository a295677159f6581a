// IPC primitive numbers (MINIX). Each is one bit in a process's trap mask.
namespace Bulkhead.Lib.Ipc;

public static class Trap
{
    public const int Send = 1;
    public const int Receive = 2;
    public const int SendRec = 3;
    public const int Notify = 4;
    public const int SendNb = 5;
    public const int SendA = 16;

    public const uint MaskAll = (1u << Send) | (1u << Receive) | (1u << SendRec) | (1u << Notify)
                                | (1u << SendNb) | (1u << SendA);
    /// <summary>Ordinary user processes may only use SENDREC.</summary>
    public const uint MaskUser = 1u << SendRec;

    public static uint Bit(int trap) => trap is > 0 and < 32 ? 1u << trap : 0;

    public static bool IsKnown(int trap) => trap is Send or Receive or SendRec or Notify or SendNb or SendA;

    public static string Name(int trap) => trap switch
    {
        Send => "SEND",
        Receive => "RECEIVE",
        SendRec => "SENDREC",
        Notify => "NOTIFY",
        SendNb => "SENDNB",
        SendA => "SENDA",
        _ => $"trap{trap}",
    };

    public static int Parse(string name) => name.ToUpperInvariant() switch
    {
        "SEND" => Send,
        "RECEIVE" => Receive,
        "SENDREC" => SendRec,
        "NOTIFY" => Notify,
        "SENDNB" or "NBSEND" => SendNb,
        "SENDA" or "ASEND" => SendA,
        _ => 0,
    };
}
