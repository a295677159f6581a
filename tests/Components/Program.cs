// bulkhead-testproc: the processes the kernel tests start. argv[0] is the process name (set
// by the kernel); argv[1] selects the role:
//   puppet   — reads one command per line on stdin, performs it through the kernel, and
//              prints one answer line on stdout ("r <result> ..."); tests steer it.
//   hostile  — floods the kernel with seeded random traps and kernel calls.
//   hostile-driver — a driver started by RS that tries each Fig. 3.1 attack once (HostileDriver.cs).
//   pingpong — server or client of a SENDREC ping-pong (benchmarks, starvation tests).
//   denied-io, alarm-sleeper — CPU-time policy loads (CpuLoad.cs).
//   blkclient — a service using a BlockClient, steered by requests (BlockClientComponent.cs).
//   badblk   — a block driver that misbehaves once (BadBlockDriver.cs).
using Bulkhead.TestComponents;

return args.Length > 0 ? args[0] switch
{
    "puppet" => PuppetComponent.Run(),
    "hostile" => Hostile.Run(args[1..]),
    "hostile-driver" => HostileDriver.Run(args[1..]),
    "pingpong-server" => PingPong.Server(),
    "pingpong-client" => PingPong.Client(args[1..]),
    "denied-io" => CpuLoad.DeniedIo(args[1..]),
    "alarm-sleeper" => CpuLoad.AlarmSleeper(args[1..]),
    "blkclient" => BlockClientComponent.Run(args[1..]),
    "badblk" => BadBlockDriver.Run(args[1..]),
    _ => Usage(),
} : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: bulkhead-testproc puppet|hostile SEED COUNT|hostile-driver KEY=VALUE...|pingpong-server|pingpong-client DST N|denied-io PORT|alarm-sleeper PERIOD_US|blkclient K=V...|badblk K=V...");
    return 2;
}
