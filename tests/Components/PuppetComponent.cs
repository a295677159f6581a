// A puppet process, the component side: it runs inside Bulkhead, each stdin line is one
// command, answered by exactly one stdout line. Results are printed as MINIX error names so
// tests read like the specification. Tests drive it through the host-side handle
// (tests/Harness/Puppet.cs).
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static unsafe class PuppetComponent
{
    public static int Run()
    {
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length == 0) continue;
            string answer;
            if (w[0] == "crash")
            {
                // Outside the try: the crash must reach the runtime unhandled.
                Console.WriteLine(Crash(w[1], w.Length > 2 ? (int)L(w[2]) : 0));
                continue;
            }
            try { answer = Do(w); }
            catch (Exception e) { answer = "x " + e.GetType().Name + " " + e.Message.Replace('\n', ' '); }
            Console.WriteLine(answer);
            if (w[0] == "quit") return 0;
        }
        // No (more) commands: a child spawned with /dev/null as stdin just stays alive until killed.
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    private static int Ep(string s) => s.ToUpperInvariant() switch
    {
        "ANY" => Endpoint.Any,
        "NONE" => Endpoint.None,
        "SELF" => Endpoint.Self,
        "SYSTEM" => Endpoint.System,
        "CLOCK" => Endpoint.Clock,
        "HARDWARE" or "KERNEL" => Endpoint.Hardware,
        "ASYNCM" => Endpoint.AsyncM,
        _ => int.Parse(s, CultureInfo.InvariantCulture),
    };

    private static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    private static Message Msg(string[] w, int at)
    {
        var m = new Message(w.Length > at ? (int)L(w[at]) : 0);
        if (w.Length > at + 1) m.As<Longs>().A = L(w[at + 1]);
        return m;
    }

    private static string R(int r) => "r " + Err.Name(r);

    private static string GrantAnswer(int id) => id < 0 ? R(id) : $"r OK {id}";

    private static string RM(int r, in Message m)
    {
        var l = m.As<Longs>();
        return $"r {Err.Name(r)} {m.Source} {m.Type} {l.A} {l.B} {l.C}";
    }

    private static string Do(string[] w)
    {
        var m = default(Message);
        int r;
        switch (w[0])
        {
            case "whoami":
                return $"ep {IpcCall.Self} {Channel.Current.Name}";
            case "send":
                m = Msg(w, 2);
                return R(IpcCall.Send(Ep(w[1]), ref m));
            case "sendnb":
                m = Msg(w, 2);
                return R(IpcCall.SendNb(Ep(w[1]), ref m));
            case "sendrec":
                m = Msg(w, 2);
                r = IpcCall.SendRec(Ep(w[1]), ref m);
                return RM(r, m);
            case "sendrec3": // sendrec3 <dst> <type> <a> <b> <c>: SENDREC with three longs of payload
                m = Msg(w, 2);
                m.As<Longs>().B = L(w[4]);
                m.As<Longs>().C = L(w[5]);
                r = IpcCall.SendRec(Ep(w[1]), ref m);
                return RM(r, m);
            case "umap": // umap <ep> <bus> <len>: UMAP → r RESULT <arena offset>
                r = SysCall.Umap(Ep(w[1]), (ulong)L(w[2]), L(w[3]), out long umapOffset);
                return $"r {Err.Name(r)} {umapOffset}";
            case "recv":
                r = IpcCall.Receive(Ep(w[1]), out m);
                return RM(r, m);
            case "notify":
                return R(IpcCall.Notify(Ep(w[1])));
            case "trap": // trap <n> <srcdst> [arg count]: any primitive number, raw
                m = new Message(7);
                r = Channel.Current.Trap((int)L(w[1]), Ep(w[2]), ref m, w.Length > 3 ? L(w[3]) : 0, w.Length > 4 ? L(w[4]) : 0);
                return RM(r, m);
            case "senda": // senda <offset> <count> [dst:type:flags]...
                {
                    long table = SysCall.HeapStart + L(w[1]);
                    for (int i = 3; i < w.Length; i++)
                    {
                        var f = w[i].Split(':');
                        ref var e = ref Channel.Current.At<AsyncEntry>(table + (i - 3) * sizeof(AsyncEntry));
                        e = default;
                        e.Dst = Ep(f[0]);
                        e.Msg = new Message((int)L(f[1]));
                        e.Flags = (int)L(f[2]);
                        e.Result = 12345;
                    }
                    return R(IpcCall.SendA(table, (int)L(w[2])));
                }
            case "senda-raw": // senda-raw <absolute offset> <count>
                return R(IpcCall.SendA(L(w[1]), (int)L(w[2])));
            case "asyncstat": // asyncstat <offset> <index>
                {
                    var e = Channel.Current.At<AsyncEntry>(SysCall.HeapStart + L(w[1]) + L(w[2]) * sizeof(AsyncEntry));
                    return $"a {e.Flags} {Err.Name(e.Result)}";
                }
            case "sendas": // sendas <dst> <forged source> <type> [a]: SEND with m_source filled in by the caller
                m = Msg(w, 3);
                m.Source = Ep(w[2]);
                return R(IpcCall.Send(Ep(w[1]), ref m));
            case "notifyn": // notifyn <dst> <n>: n NOTIFYs; answers OK or the first failure and its index
                {
                    long n = L(w[2]);
                    int dst = Ep(w[1]);
                    for (long i = 0; i < n; i++)
                    {
                        r = IpcCall.Notify(dst);
                        if (r != Err.Ok) return $"r {Err.Name(r)} {i}";
                    }
                    return "r OK " + n;
                }
            case "nbserve": // nbserve <n>: n times RECEIVE(ANY) and reply with SENDNB (type+1, same a); counts results
                {
                    long n = L(w[1]);
                    long ok = 0, failed = 0;
                    string first = "-";
                    for (long i = 0; i < n; i++)
                    {
                        r = IpcCall.Receive(Endpoint.Any, out m);
                        if (r != Err.Ok) return $"r {Err.Name(r)} {ok} {failed} {first}";
                        m.Type++;
                        r = IpcCall.SendNb(m.Source, ref m);
                        if (r == Err.Ok) ok++;
                        else
                        {
                            failed++;
                            if (first == "-") first = Err.Name(r);
                        }
                    }
                    return $"r OK {ok} {failed} {first}";
                }
            case "sendrecn": // sendrecn <dst> <n> <type>: n SENDRECs (a = i); counts replies from dst of type+1 carrying a
                {
                    int dst = Ep(w[1]);
                    long n = L(w[2]);
                    int type = (int)L(w[3]);
                    long good = 0;
                    string first = "-";
                    for (long i = 0; i < n; i++)
                    {
                        m = new Message(type);
                        m.As<Longs>().A = i;
                        r = IpcCall.SendRec(dst, ref m);
                        if (r == Err.Ok && m.Source == dst && m.Type == type + 1 && m.As<Longs>().A == i) good++;
                        else if (first == "-") first = r == Err.Ok ? $"bad:{m.Source}:{m.Type}:{m.As<Longs>().A}" : Err.Name(r);
                    }
                    return $"r OK {good} {first}";
                }
            case "asyncset": // asyncset <offset> <index> <dst:type:flags>: rewrite one SENDA entry without trapping
                {
                    var f = w[3].Split(':');
                    ref var e = ref Channel.Current.At<AsyncEntry>(SysCall.HeapStart + L(w[1]) + L(w[2]) * sizeof(AsyncEntry));
                    e = default;
                    e.Dst = Ep(f[0]);
                    e.Msg = new Message((int)L(f[1]));
                    e.Flags = (int)L(f[2]);
                    e.Result = 12345;
                    return "r OK";
                }
            case "kcall": // kcall <call> [a b c]: raw kernel call with longs payload
                m = new Message(0);
                ref var p = ref m.As<Longs>();
                if (w.Length > 2) p.A = L(w[2]);
                if (w.Length > 3) p.B = L(w[3]);
                if (w.Length > 4) p.C = L(w[4]);
                r = SysCall.Call((int)L(w[1]), ref m);
                return RM(r, m);
            case "diag":
                return R(SysCall.Diag(string.Join(' ', w[1..])));
            case "alarm":
                r = SysCall.SetAlarm(L(w[1]) * 1_000_000, false, out long prev);
                return $"r {Err.Name(r)} {prev}";
            case "times":
                r = SysCall.Times(Ep(w[1]), out var t);
                return $"r {Err.Name(r)} {t.CpuNs} {t.UptimeNs}";
            case "kill":
                return R(SysCall.Kill(Ep(w[1]), (int)L(w[2])));
            case "ksig":
                r = SysCall.GetKsig(out var x);
                return $"r {Err.Name(r)} {x.Endpoint} {x.How} {x.Status}";
            case "whoami-k":
                r = SysCall.WhoAmI(out var who);
                return $"r {Err.Name(r)} {who.Endpoint} {who.Slot} {who.Name}";
            case "proctab":
                {
                    r = SysCall.GetInfo(GetInfoRequest.ProcTab, out var data, out var rep);
                    var rows = MemoryMarshal.Cast<byte, ProcInfo>(data);
                    var parts = new List<string>();
                    foreach (var row in rows) parts.Add($"{row.Name}:{row.Slot}:{row.Endpoint}:{row.State}:{row.Level}");
                    return $"r {Err.Name(r)} {rep.Entries} {string.Join(' ', parts)}";
                }
            case "denials":
                {
                    r = SysCall.GetInfo(GetInfoRequest.Denials, out var data, out _);
                    var c = MemoryMarshal.Cast<byte, long>(data);
                    return $"r {Err.Name(r)} {string.Join(' ', c.ToArray())}";
                }
            case "spawn": // spawn <name> <trapmask> <flags> <calls,..|-> <targets,..|-> [args...]
            case "spawn-held": // the same, created held (SpawnRequest.Held)
                {
                    var priv = new PrivilegeBlock { TrapMask = (uint)L(w[2]), Flags = (uint)L(w[3]) };
                    if (w[4] != "-") foreach (var c in w[4].Split(',')) priv.AllowCall((int)L(c));
                    if (w[5] != "-") foreach (var tg in w[5].Split(',')) priv.AddTarget(Ep(tg));
                    r = SysCall.Spawn(w[1], Environment.ProcessPath!, default, w[6..], priv, out int ep, held: w[0] == "spawn-held");
                    return $"r {Err.Name(r)} {ep}";
                }
            case "allow": // allow <ep>: PRIVCTL Allow (release a held process)
                return R(SysCall.PrivCtlAllow(Ep(w[1])));
            case "spawn-image": // spawn-image <name> <path>: exec a copy of <path> from memory
                {
                    var priv = new PrivilegeBlock();
                    r = SysCall.Spawn(w[1], "", File.ReadAllBytes(w[2]), w[3..], priv, out int ep);
                    return $"r {Err.Name(r)} {ep}";
                }
            case "image-create": // image-create <path>: IMAGE Create from a copy of <path> → r RESULT <id>
                r = SysCall.ImageCreate(Path.GetFileName(w[1]), File.ReadAllBytes(w[1]), out int imageId);
                return $"r {Err.Name(r)} {imageId}";
            case "image-delete": // image-delete <id>
                return R(SysCall.ImageDelete((int)L(w[1])));
            case "spawn-obj": // spawn-obj <name> <id> [args...]: SPAWN FromImage → r RESULT <endpoint>
                {
                    r = SysCall.SpawnImage(w[1], (int)L(w[2]), w[3..], new PrivilegeBlock(), out int ep);
                    return $"r {Err.Name(r)} {ep}";
                }
            case "privctl": // privctl <ep> <trapmask> <flags> <targets|-> [calls,..]
                {
                    var priv = new PrivilegeBlock { TrapMask = (uint)L(w[2]), Flags = (uint)L(w[3]) };
                    if (w.Length > 4 && w[4] != "-") foreach (var tg in w[4].Split(',')) priv.AddTarget(Ep(tg));
                    if (w.Length > 5) foreach (var c in w[5].Split(',')) priv.AllowCall((int)L(c));
                    return R(SysCall.PrivCtl(Ep(w[1]), priv));
                }
            case "raw": // raw <hex of trap page bytes>
                Channel.Current.RingRaw(Convert.FromHexString(w[1]), wait: true);
                return R(Channel.Current.LastResult);
            case "echo-server":
                {
                    var loop = new ServerLoop { NonBlockingReplies = w.Length > 1 && w[1] == "nb" };
                    loop.OnUnknown = (ref Message req) => req.Type;
                    Console.WriteLine("r OK serving");
                    return R(loop.Run());
                }
            case "replyrecv": // replyrecv <dst> <type> <nb|b> <src>: reply, then receive, in one trap
                {
                    m = new Message((int)L(w[2]));
                    r = IpcCall.ReplyAndReceive(Ep(w[1]), ref m, w[3] == "nb", Ep(w[4]), out int first);
                    return $"{RM(r, m)} first={Err.Name(first)}";
                }
            case "chain": // chain <trap> <dst> <chaintrap> <src>: any combination, raw
                {
                    m = new Message(5);
                    var ch = Channel.Current;
                    r = ch.TrapThenReceiveRaw((int)L(w[1]), Ep(w[2]), (int)L(w[3]), Ep(w[4]), ref m, out int first);
                    return $"r {Err.Name(r)} first={Err.Name(first)}";
                }
            case "rs": // rs <up|down|refresh|restart|update|list|complain> <text...>: a driver-manager request
                return RsRequest(w);
            case "rs-spec": // rs-spec <up|...> k=v;k=v: like rs, but only each pair's first '=' separates (values may hold '=' and spaces)
                return RsSpecRequest(w);
            case "td": // td <ep> read | write <value> | fail <mode>: test driver requests
                {
                    int dst = Ep(w[1]);
                    int type = w[2] switch { "read" => Bulkhead.Lib.Drivers.TestDriverCall.Read, "write" => Bulkhead.Lib.Drivers.TestDriverCall.Write, _ => Bulkhead.Lib.Drivers.TestDriverCall.Fail };
                    var req = new Bulkhead.Lib.Drivers.TestDriverRequest();
                    if (w[2] == "write") req.Value = L(w[3]);
                    if (w[2] == "fail") req.Mode = (int)L(w[3]);
                    m = Message.Of(type, req);
                    r = IpcCall.SendRec(dst, ref m);
                    var rep = m.As<Bulkhead.Lib.Drivers.TestDriverReply>();
                    bool good = rep.Magic0 == Bulkhead.Lib.Drivers.TestDriverReply.Magic;
                    return $"r {Err.Name(r)} {Err.Name(m.Type)} {rep.Requests} {rep.Value} {rep.Endpoint} {(good ? "well-formed" : "malformed")}";
                }
            case "td-complain": // td-complain <ep> <target>: make test driver <ep> complain to RS about <target>
                {
                    m = Message.Of(Bulkhead.Lib.Drivers.TestDriverCall.ComplainAbout, new Bulkhead.Lib.Drivers.TestDriverRequest { Value = Ep(w[2]) });
                    r = IpcCall.SendRec(Ep(w[1]), ref m);
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}";
                }
            case "td-restart": // td-restart <ep> <target>: make test driver <ep> have RS restart <target>
                {
                    m = Message.Of(Bulkhead.Lib.Drivers.TestDriverCall.RestartOf, new Bulkhead.Lib.Drivers.TestDriverRequest { Value = Ep(w[2]) });
                    r = IpcCall.SendRec(Ep(w[1]), ref m);
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}";
                }
            case "td-check": // td-check <ep>: the test driver's next DS change → r OK RESULT key TYPE owner
                {
                    m = new Message(Bulkhead.Lib.Drivers.TestDriverCall.Check);
                    r = IpcCall.SendRec(Ep(w[1]), ref m);
                    var rep = m.As<Bulkhead.Lib.Drivers.TestDriverCheckReply>();
                    return $"r {Err.Name(r)} {Err.Name(m.Type)} {FixedText.Read(rep.Key)} {Bulkhead.Lib.Ds.DsFlags.TypeName(rep.Type)} {rep.Owner}";
                }
            case "td-askrs": // td-askrs <ep> <type>: make test driver <ep> send RS a request of <type>
                {
                    m = Message.Of(Bulkhead.Lib.Drivers.TestDriverCall.AskRs, new Bulkhead.Lib.Drivers.TestDriverRequest { Mode = (int)L(w[2]) });
                    r = IpcCall.SendRec(Ep(w[1]), ref m);
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}";
                }
            case "in": // in <port> <size>
                r = SysCall.InPort((int)L(w[1]), (int)L(w[2]), out uint portValue);
                return $"r {Err.Name(r)} {portValue}";
            case "out": // out <port> <size> <value>
                return R(SysCall.OutPort((int)L(w[1]), (int)L(w[2]), (uint)L(w[3])));
            case "vio": // vio <in|out> <size> <port[:value]>...: a VDEVIO vector
                {
                    int count = w.Length - 3;
                    long buf = ArenaHeap.Allocate(Math.Max(1, count) * sizeof(PortValue));
                    for (int i = 0; i < count; i++)
                    {
                        var f = w[3 + i].Split(':');
                        Channel.Current.At<PortValue>(buf + i * sizeof(PortValue)) = new PortValue { Port = (int)L(f[0]), Value = f.Length > 1 ? (uint)L(f[1]) : 0 };
                    }
                    r = SysCall.VDevIo(buf, count, (int)L(w[2]), w[1] == "out" ? DevIoRequest.Write : DevIoRequest.Read);
                    var vals = Enumerable.Range(0, count).Select(i => Channel.Current.At<PortValue>(buf + i * sizeof(PortValue)).Value);
                    ArenaHeap.Free(buf);
                    return $"r {Err.Name(r)} {string.Join(' ', vals)}";
                }
            case "irqctl": // irqctl <op> <line> [hook]
                return R(SysCall.IrqCtl((int)L(w[1]), (int)L(w[2]), w.Length > 3 ? (int)L(w[3]) : 0));
            case "sleep":
                Thread.Sleep((int)L(w[1]));
                return "r OK";
            case "quit":
                return "r OK";
            case "ds": // ds <pub|get|label-of|del|sub|check|snap|raw> ...: data store calls through DsClient
                {
                    static int DsFlagsOf(string s)
                    {
                        int f = 0;
                        if (s == "-") return 0;
                        foreach (var n in s.Split(','))
                            f |= n switch
                            {
                                "private" => Bulkhead.Lib.Ds.DsFlags.Private,
                                "overwrite" => Bulkhead.Lib.Ds.DsFlags.Overwrite,
                                "initial" => Bulkhead.Lib.Ds.DsFlags.Initial,
                                _ when Bulkhead.Lib.Ds.DsFlags.ParseType(n) != 0 => Bulkhead.Lib.Ds.DsFlags.ParseType(n),
                                _ => Convert.ToInt32(n, 16),
                            };
                        return f;
                    }
                    static byte[] DsBytes(string s)
                    {
                        if (!s.StartsWith('@')) return System.Text.Encoding.UTF8.GetBytes(s);
                        var nb = s[1..].Split(':'); // @<count>:<byte>
                        var a = new byte[int.Parse(nb[0], CultureInfo.InvariantCulture)];
                        Array.Fill(a, byte.Parse(nb[1], CultureInfo.InvariantCulture));
                        return a;
                    }
                    string sub = w[1];
                    int type = w.Length > 2 ? Bulkhead.Lib.Ds.DsFlags.ParseType(w[2]) : 0;
                    switch (sub)
                    {
                        case "pub": // ds pub <type> <key> <value> [flags]; mem value @n:b is n bytes b
                            {
                                int fl = w.Length > 5 ? DsFlagsOf(w[5]) : 0;
                                r = type switch
                                {
                                    Bulkhead.Lib.Ds.DsFlags.TypeU32 => Bulkhead.Lib.Ds.DsClient.PublishU32(w[3], uint.Parse(w[4], CultureInfo.InvariantCulture), fl),
                                    Bulkhead.Lib.Ds.DsFlags.TypeStr => Bulkhead.Lib.Ds.DsClient.PublishStr(w[3], w[4], fl),
                                    Bulkhead.Lib.Ds.DsFlags.TypeMem => Bulkhead.Lib.Ds.DsClient.PublishMem(w[3], DsBytes(w[4]), fl),
                                    _ => Bulkhead.Lib.Ds.DsClient.PublishLabel(w[3], Ep(w[4]), fl),
                                };
                                return R(r);
                            }
                        case "lines": // ds lines <key>: a MEM value of text lines, joined by '|'
                            {
                                var buf = new byte[Bulkhead.Lib.Ds.DsLimits.MaxMemLength];
                                r = Bulkhead.Lib.Ds.DsClient.RetrieveMem(w[2], buf, out int len);
                                var lines = System.Text.Encoding.UTF8.GetString(buf, 0, Math.Min(len, buf.Length)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                                return $"r {Err.Name(r)} {lines.Length} {string.Join('|', lines)}";
                            }
                        case "get": // ds get <type> <key> [snapshot] [bufsize]
                            switch (type)
                            {
                                case Bulkhead.Lib.Ds.DsFlags.TypeU32:
                                    r = Bulkhead.Lib.Ds.DsClient.RetrieveU32(w[3], out uint u);
                                    return $"r {Err.Name(r)} {u}";
                                case Bulkhead.Lib.Ds.DsFlags.TypeStr:
                                    r = Bulkhead.Lib.Ds.DsClient.RetrieveStr(w[3], out string str);
                                    return $"r {Err.Name(r)} {str}";
                                case Bulkhead.Lib.Ds.DsFlags.TypeLabel:
                                    r = Bulkhead.Lib.Ds.DsClient.RetrieveLabel(w[3], out int lep);
                                    return $"r {Err.Name(r)} {lep}";
                                default:
                                    {
                                        var buf = new byte[w.Length > 5 ? int.Parse(w[5], CultureInfo.InvariantCulture) : Bulkhead.Lib.Ds.DsLimits.MaxMemLength];
                                        r = Bulkhead.Lib.Ds.DsClient.RetrieveMem(w[3], buf, out int len, w.Length > 4 ? int.Parse(w[4], CultureInfo.InvariantCulture) : 0);
                                        var got = buf.AsSpan(0, Math.Min(len, buf.Length));
                                        bool text = got.Length > 0 && !got.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E);
                                        long sum = 0;
                                        foreach (byte b in got) sum += b;
                                        return $"r {Err.Name(r)} {len} {got.Length} {(text ? System.Text.Encoding.ASCII.GetString(got) : "sum:" + sum)}";
                                    }
                            }
                        case "label-of": // ds label-of <ep>
                            r = Bulkhead.Lib.Ds.DsClient.RetrieveLabelByEndpoint(Ep(w[2]), out string lbl);
                            return $"r {Err.Name(r)} {lbl}";
                        case "del": // ds del <type> <key>
                            return R(Bulkhead.Lib.Ds.DsClient.Delete(w[3], type));
                        case "sub": // ds sub <regex> [flags]
                            return R(Bulkhead.Lib.Ds.DsClient.Subscribe(w[2], w.Length > 3 ? DsFlagsOf(w[3]) : 0));
                        case "check": // ds check: r RESULT key TYPE owner
                            r = Bulkhead.Lib.Ds.DsClient.Check(out string ck, out int ct, out int co);
                            return $"r {Err.Name(r)} {ck} {Bulkhead.Lib.Ds.DsFlags.TypeName(ct)} {co}";
                        case "snap": // ds snap <key>
                            r = Bulkhead.Lib.Ds.DsClient.Snapshot(w[2], out int sn);
                            return $"r {Err.Name(r)} {sn}";
                        case "raw": // ds raw <call> <keygrant> <keylen> <flags> [valuegrant valuelen u32 endpoint snapshot strlen]
                            {
                                var q = new Bulkhead.Lib.Ds.DsRequest
                                {
                                    KeyGrant = (int)L(w[3]),
                                    KeyLength = (int)L(w[4]),
                                    Flags = DsFlagsOf(w[5]),
                                    ValueGrant = w.Length > 6 ? (int)L(w[6]) : 0,
                                    ValueLength = w.Length > 7 ? (int)L(w[7]) : 0,
                                    U32 = w.Length > 8 ? (uint)L(w[8]) : 0,
                                    Endpoint = w.Length > 9 ? Ep(w[9]) : 0,
                                    Snapshot = w.Length > 10 ? (int)L(w[10]) : 0,
                                    StrLength = w.Length > 11 ? (int)L(w[11]) : 0,
                                };
                                m = Message.Of((int)L(w[2]), q);
                                r = IpcCall.SendRec(Endpoint.Ds, ref m);
                                return R(r == Err.Ok ? m.Type : r);
                            }
                        case "tagged": // ds tagged <tag> <call> <key>: the call with the key granted and DsRequest.Tag set → r RESULT <reply's tag>
                            {
                                byte[] key = System.Text.Encoding.UTF8.GetBytes(w[4]);
                                r = Bulkhead.Lib.Grants.GrantedBuffer.Create(Endpoint.Ds, key.Length, Bulkhead.Lib.Grants.Grant.Read, out var kb);
                                if (r != Err.Ok) return R(r);
                                using var keyBuffer = kb!;
                                key.CopyTo(keyBuffer.Span);
                                var q = new Bulkhead.Lib.Ds.DsRequest { KeyGrant = keyBuffer.Grant, KeyLength = key.Length, Flags = Bulkhead.Lib.Ds.DsFlags.TypeU32, U32 = 7, Tag = (uint)L(w[2]) };
                                m = Message.Of((int)L(w[3]), q);
                                r = IpcCall.SendRec(Endpoint.Ds, ref m);
                                return r == Err.Ok ? $"{R(m.Type)} {m.As<Bulkhead.Lib.Ds.DsReply>().Tag}" : R(r);
                            }
                        default:
                            return "x unknown ds " + sub;
                    }
                }
            case "heap": // heap <size>: ArenaHeap.Allocate → r OK <offset> | r ERR
                {
                    long at = ArenaHeap.Allocate(L(w[1]));
                    return at < 0 ? R((int)at) : $"r OK {at}";
                }
            case "heapfree": // heapfree <offset>
                return R(ArenaHeap.Free(L(w[1])));
            case "poke": // poke <offset> <hex>: write bytes into our own arena
                Convert.FromHexString(w[2]).CopyTo(Channel.Current.Arena[(int)L(w[1])..]);
                return "r OK";
            case "peek": // peek <offset> <len> → r OK <hex>
                return "r OK " + Convert.ToHexString(Channel.Current.Arena.Slice((int)L(w[1]), (int)L(w[2])));
            case "grant": // grant <grantee> <offset> <len> <access> → r OK <id> | r ERR
                return GrantAnswer(Bulkhead.Lib.Grants.GrantTable.Current.Direct(Ep(w[1]), L(w[2]), L(w[3]), (int)L(w[4])));
            case "igrant": // igrant <grantee> <granter> <id> <access> → r OK <id> | r ERR
                return GrantAnswer(Bulkhead.Lib.Grants.GrantTable.Current.Indirect(Ep(w[1]), Ep(w[2]), (int)L(w[3]), (int)L(w[4])));
            case "revoke": // revoke <id>
                return R(Bulkhead.Lib.Grants.GrantTable.Current.Revoke((int)L(w[1])));
            case "gtable": // gtable: place and register the grant table → r OK <offset> <capacity>
                {
                    var gt = Bulkhead.Lib.Grants.GrantTable.Current;
                    r = gt.Register();
                    return r == Err.Ok ? $"r OK {gt.Offset} {gt.Capacity}" : R(r);
                }
            case "gentry": // gentry <index> <flags> <seq> <grantee> <start|granter> <len|grantid>: raw table entry
                {
                    var gt = Bulkhead.Lib.Grants.GrantTable.Current;
                    ref var e = ref Channel.Current.At<Bulkhead.Lib.Grants.GrantEntry>(gt.Offset + L(w[1]) * Bulkhead.Lib.Grants.GrantEntry.Size);
                    e = default;
                    e.Seq = (int)L(w[3]);
                    e.Grantee = Ep(w[4]);
                    if ((L(w[2]) & Bulkhead.Lib.Grants.Grant.Indirect) != 0)
                    {
                        e.Granter = Ep(w[5]);
                        e.GrantId = (int)L(w[6]);
                    }
                    else
                    {
                        e.Start = L(w[5]);
                        e.Length = L(w[6]);
                    }
                    e.Flags = (int)L(w[2]);
                    return "r OK";
                }
            case "setgrant": // setgrant <offset> <count>: raw SETGRANT
                return R(SysCall.SetGrant(L(w[1]), (int)L(w[2])));
            case "copyfrom": // copyfrom <granter> <id> <goff> <loff> <len>
                return R(SysCall.SafeCopyFrom(Ep(w[1]), (int)L(w[2]), L(w[3]), L(w[4]), L(w[5])));
            case "copyto": // copyto <granter> <id> <goff> <loff> <len>
                return R(SysCall.SafeCopyTo(Ep(w[1]), (int)L(w[2]), L(w[3]), L(w[4]), L(w[5])));
            case "vcopy": // vcopy <from>:<to>:<id>:<goff>:<loff>:<len> ...
                {
                    var vec = new VSafeCopyEntry[w.Length - 1];
                    for (int i = 1; i < w.Length; i++)
                    {
                        var f = w[i].Split(':');
                        vec[i - 1] = new VSafeCopyEntry
                        {
                            From = Ep(f[0]), To = Ep(f[1]), GrantId = (int)L(f[2]),
                            GrantOffset = L(f[3]), LocalOffset = L(f[4]), Length = L(f[5]),
                        };
                    }
                    return R(SysCall.VSafeCopy(vec));
                }
            case "vcopy-raw": // vcopy-raw <offset> <count>
                return R(SysCall.VSafeCopy(L(w[1]), (int)L(w[2])));
            case "copyuntil": // copyuntil <granter> <id> <goff> <loff> <len> <after>: SAFECOPYFROM until one fails, then <after> more → r <first error> <ok before> <ok after>
                {
                    int granter = Ep(w[1]), id = (int)L(w[2]);
                    long okBefore = 0, okAfter = 0;
                    int first = Err.Ok;
                    for (long i = 0; i < 50_000_000 && first == Err.Ok; i++)
                    {
                        first = SysCall.SafeCopyFrom(granter, id, L(w[3]), L(w[4]), L(w[5]));
                        if (first == Err.Ok) okBefore++;
                    }
                    for (long i = 0; i < L(w[6]); i++)
                        if (SysCall.SafeCopyFrom(granter, id, L(w[3]), L(w[4]), L(w[5])) == Err.Ok) okAfter++;
                    return $"r {Err.Name(first)} {okBefore} {okAfter}";
                }
            case "net": // net conf <ep> [mode] | write <ep> <hex> | read <ep> <len> | post <ep> <len> | collect <ep> | stat <ep> | fault <ep> <mode>: network driver requests
                return NetRequest(w);
            case "blk": // blk open|close|ioctl|flush|req|read|write|gather|scatter|vector|asend ...: block driver requests (BlockRequests.cs)
                return BlockRequests.Do(w);
            case "vfs": // vfs <call> args...: a program's file call through the library (VfsRequests.cs)
                return VfsRequests.Do(w);
            case "fs": // fs <ep> <call> [key=value]...: a file-server request (FsRequests.cs)
                return FsRequests.Do(w);
            default:
                return "x unknown " + w[0];
        }
    }

    // A Read posted with `net post`, collected with `net collect`.
    private static long s_posted = -1;
    private static int s_postedLength, s_postedGrant;

    private static string NetRequest(string[] w)
    {
        int dst = Ep(w[2]);
        Message m;
        int r;
        switch (w[1])
        {
            case "conf": // → r OK <result> <mac hex> <link> <mode>
                {
                    m = Message.Of(Bulkhead.Lib.Net.NetDriverCall.Conf, new Bulkhead.Lib.Net.NetConfRequest { Mode = w.Length > 3 ? (int)L(w[3]) : 0 });
                    r = IpcCall.SendRec(dst, ref m);
                    var rep = m.As<Bulkhead.Lib.Net.NetConfReply>();
                    return $"r {Err.Name(r)} {Err.Name(m.Type)} {Convert.ToHexString(rep.MacBytes())} {rep.Link} {rep.Mode}";
                }
            case "write": // → r OK <result>
            case "read": // → r OK <result> <length> <hex of the frame>
                {
                    bool write = w[1] == "write";
                    byte[] data = write ? Convert.FromHexString(w[3]) : [];
                    int len = write ? data.Length : (int)L(w[3]);
                    long buf = ArenaHeap.Allocate(Math.Max(len, 1));
                    if (buf < 0) return R((int)buf);
                    var arena = Channel.Current.Arena.Slice((int)buf, Math.Max(len, 1));
                    arena.Clear();
                    data.CopyTo(arena);
                    int grant = Bulkhead.Lib.Grants.GrantTable.Current.Direct(dst, buf, Math.Max(len, 1),
                        write ? Bulkhead.Lib.Grants.Grant.Read : Bulkhead.Lib.Grants.Grant.Write);
                    m = Message.Of(write ? Bulkhead.Lib.Net.NetDriverCall.Write : Bulkhead.Lib.Net.NetDriverCall.Read,
                        new Bulkhead.Lib.Net.NetBufferRequest { GrantId = grant, Length = len });
                    r = IpcCall.SendRec(dst, ref m);
                    var rep = m.As<Bulkhead.Lib.Net.NetReadReply>();
                    string back = !write && r == Err.Ok && m.Type == Err.Ok
                        ? $" {rep.Length} {Convert.ToHexString(arena[..Math.Clamp(rep.Length, 0, len)])}" : "";
                    Bulkhead.Lib.Grants.GrantTable.Current.Revoke(grant);
                    ArenaHeap.Free(buf);
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}{back}";
                }
            case "post": // post <ep> <len>: a Read with SEND, not waiting for the answer → r OK
                {
                    if (s_posted >= 0) return "x already posted";
                    int len = (int)L(w[3]);
                    long buf = ArenaHeap.Allocate(len);
                    if (buf < 0) return R((int)buf);
                    Channel.Current.Arena.Slice((int)buf, len).Clear();
                    int grant = Bulkhead.Lib.Grants.GrantTable.Current.Direct(dst, buf, len, Bulkhead.Lib.Grants.Grant.Write);
                    m = Message.Of(Bulkhead.Lib.Net.NetDriverCall.Read, new Bulkhead.Lib.Net.NetBufferRequest { GrantId = grant, Length = len });
                    r = IpcCall.Send(dst, ref m);
                    if (r != Err.Ok)
                    {
                        Bulkhead.Lib.Grants.GrantTable.Current.Revoke(grant);
                        ArenaHeap.Free(buf);
                        return R(r);
                    }
                    (s_posted, s_postedLength, s_postedGrant) = (buf, len, grant);
                    return R(r);
                }
            case "collect": // collect <ep>: RECEIVE the posted Read's answer → like `read`
                {
                    if (s_posted < 0) return "x nothing posted";
                    r = IpcCall.Receive(dst, out m);
                    var rep = m.As<Bulkhead.Lib.Net.NetReadReply>();
                    var arena = Channel.Current.Arena.Slice((int)s_posted, s_postedLength);
                    string back = r == Err.Ok && m.Type == Err.Ok ? $" {rep.Length} {Convert.ToHexString(arena[..Math.Clamp(rep.Length, 0, s_postedLength)])}" : "";
                    Bulkhead.Lib.Grants.GrantTable.Current.Revoke(s_postedGrant);
                    ArenaHeap.Free(s_posted);
                    s_posted = -1;
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}{back}";
                }
            case "fault": // fault <ep> <mode> → r OK <result>
                {
                    m = Message.Of(Bulkhead.Lib.Net.NetDriverCall.Fault, new Bulkhead.Lib.Net.NetFaultRequest { Mode = (int)L(w[3]) });
                    r = IpcCall.SendRec(dst, ref m);
                    return $"r {Err.Name(r)} {Err.Name(m.Type)}";
                }
            case "stat": // → r OK <result> sent received dropped rxerrors txerrors overruns replyfailures
                {
                    m = new Message(Bulkhead.Lib.Net.NetDriverCall.GetStat);
                    r = IpcCall.SendRec(dst, ref m);
                    var s = m.As<Bulkhead.Lib.Net.NetStats>();
                    return $"r {Err.Name(r)} {Err.Name(m.Type)} {s.Sent} {s.Received} {s.Dropped} {s.RxErrors} {s.TxErrors} {s.Overruns} {s.ReplyFailures}";
                }
            default:
                return "x unknown net " + w[1];
        }
    }

    private static string RsRequest(string[] w)
    {
        int type = w[1] switch
        {
            "up" => Bulkhead.Lib.Rs.RsCall.Up,
            "down" => Bulkhead.Lib.Rs.RsCall.Down,
            "refresh" => Bulkhead.Lib.Rs.RsCall.Refresh,
            "restart" => Bulkhead.Lib.Rs.RsCall.Restart,
            "update" => Bulkhead.Lib.Rs.RsCall.Update,
            "list" => Bulkhead.Lib.Rs.RsCall.List,
            _ => Bulkhead.Lib.Rs.RsCall.Complain,
        };
        Message m;
        int r;
        if (type == Bulkhead.Lib.Rs.RsCall.Complain)
        {
            m = Message.Of(type, new Bulkhead.Lib.Rs.ComplainRequest { Target = Ep(w[2]) });
            r = IpcCall.SendRec(Endpoint.Rs, ref m);
            return $"r {Err.Name(r)} {Err.Name(m.Type)}";
        }
        // Text argument: "k=v;k=v" becomes ServiceSpec lines; a bare word is a label.
        string text = string.Join(' ', w[2..]);
        text = text.Contains('=') ? string.Join('\n', text.Split(';').Select(kv => kv.Replace('=', ' '))) + "\n" : text;
        const int Size = 65536;
        long buf = ArenaHeap.Allocate(Size);
        var arena = Channel.Current.Arena.Slice((int)buf, Size);
        arena.Clear();
        int n = System.Text.Encoding.UTF8.GetBytes(text, arena);
        int grant = Bulkhead.Lib.Grants.GrantTable.Current.Direct(Endpoint.Rs, buf, Size, Bulkhead.Lib.Grants.Grant.ReadWrite);
        m = Message.Of(type, new Bulkhead.Lib.Rs.BufferRequest { GrantId = grant, Length = type == Bulkhead.Lib.Rs.RsCall.List ? Size : Math.Max(n, 1) });
        r = IpcCall.SendRec(Endpoint.Rs, ref m);
        var rep = m.As<Bulkhead.Lib.Rs.RsReply>();
        string back = rep.Length > 0 ? System.Text.Encoding.UTF8.GetString(arena[..Math.Min(rep.Length, Size)]).Replace('\n', '|') : "";
        Bulkhead.Lib.Grants.GrantTable.Current.Revoke(grant);
        ArenaHeap.Free(buf);
        return $"r {Err.Name(r)} {Err.Name(m.Type)} {rep.Endpoint} {back}";
    }

    private static string RsSpecRequest(string[] w)
    {
        int type = w[1] switch
        {
            "up" => Bulkhead.Lib.Rs.RsCall.Up,
            "refresh" => Bulkhead.Lib.Rs.RsCall.Refresh,
            "update" => Bulkhead.Lib.Rs.RsCall.Update,
            _ => Bulkhead.Lib.Rs.RsCall.Up,
        };
        string joined = string.Join(' ', w[2..]);
        string text = string.Join('\n', joined.Split(';').Select(kv => kv.IndexOf('=') is int eq and >= 0 ? kv[..eq] + " " + kv[(eq + 1)..] : kv)) + "\n";
        const int Size = 65536;
        long buf = ArenaHeap.Allocate(Size);
        var arena = Channel.Current.Arena.Slice((int)buf, Size);
        arena.Clear();
        int n = System.Text.Encoding.UTF8.GetBytes(text, arena);
        int grant = Bulkhead.Lib.Grants.GrantTable.Current.Direct(Endpoint.Rs, buf, Size, Bulkhead.Lib.Grants.Grant.ReadWrite);
        var m = Message.Of(type, new Bulkhead.Lib.Rs.BufferRequest { GrantId = grant, Length = Math.Max(n, 1) });
        int r = IpcCall.SendRec(Endpoint.Rs, ref m);
        var rep = m.As<Bulkhead.Lib.Rs.RsReply>();
        string back = rep.Length > 0 ? System.Text.Encoding.UTF8.GetString(arena[..Math.Min(rep.Length, Size)]).Replace('\n', '|') : "";
        Bulkhead.Lib.Grants.GrantTable.Current.Revoke(grant);
        ArenaHeap.Free(buf);
        return $"r {Err.Name(r)} {Err.Name(m.Type)} {rep.Endpoint} {back}";
    }

    private static string Crash(string how, int arg)
    {
        switch (how)
        {
            case "null":
                *(int*)16 = 1;
                break;
            case "segv":
                Native.signal(11, 0); // the runtime would treat a sent SIGSEGV as not a fault
                Native.kill(Environment.ProcessId, 11);
                Thread.Sleep(5000);
                break;
            case "wild":
                *(long*)0x7fff_dead_0000 = 1;
                break;
            case "divzero":
                int zero = arg;
                Console.WriteLine(1 / zero);
                break;
            case "abort":
                Environment.FailFast("puppet told to abort");
                break;
            case "exit":
                Environment.Exit(arg);
                break;
            case "spin":
                Console.WriteLine("r OK spinning");
                long x = 0;
                while (true) x++;
        }
        return "x did not crash";
    }

    [StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
    private struct Longs
    {
        public long A;
        public long B;
        public long C;
    }
}
