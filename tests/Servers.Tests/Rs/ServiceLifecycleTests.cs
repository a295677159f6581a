// The table of RS's service state machine (ServiceLifecycle, docs/rs.md "The life cycle of a
// service"): the moves RS makes are legal, and the ones that would mean lost bookkeeping are not.
using Bulkhead.Servers.Rs;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class ServiceLifecycleTests
{
    [Theory]
    [InlineData(ServiceState.Starting, ServiceState.Running)]          // InitDone
    [InlineData(ServiceState.Running, ServiceState.Restarting)]        // died, backoff
    [InlineData(ServiceState.Restarting, ServiceState.Starting)]       // backoff over
    [InlineData(ServiceState.Restarting, ServiceState.Restarting)]     // could not start it, next step
    [InlineData(ServiceState.Running, ServiceState.Recovering)]        // died, script decides
    [InlineData(ServiceState.Recovering, ServiceState.Starting)]       // the script restarted it
    [InlineData(ServiceState.Running, ServiceState.Starting)]          // explicit restart, at once
    [InlineData(ServiceState.Running, ServiceState.Updating)]
    [InlineData(ServiceState.Updating, ServiceState.Starting)]         // the new binary
    [InlineData(ServiceState.Updating, ServiceState.Stopping)]         // `service down` during an update
    [InlineData(ServiceState.Starting, ServiceState.Failed)]
    [InlineData(ServiceState.Failed, ServiceState.Starting)]           // `service refresh`
    [InlineData(ServiceState.Stopping, ServiceState.Lost)]
    [InlineData(ServiceState.Lost, ServiceState.Starting)]
    public void IsLegal_MovesRsMakes_AreLegal(ServiceState from, ServiceState to) =>
        Assert.True(ServiceLifecycle.IsLegal(from, to));

    [Theory]
    [InlineData(ServiceState.Stopping, ServiceState.Starting)]         // a service going down is never restarted
    [InlineData(ServiceState.Running, ServiceState.Running)]           // InitDone twice
    [InlineData(ServiceState.Restarting, ServiceState.Running)]        // running with no instance
    [InlineData(ServiceState.Failed, ServiceState.Running)]
    [InlineData(ServiceState.Failed, ServiceState.Restarting)]         // failed stays down until refreshed
    [InlineData(ServiceState.Restarting, ServiceState.Lost)]           // nothing to lose without an instance
    [InlineData(ServiceState.Recovering, ServiceState.Restarting)]     // the script, not RS, decides
    [InlineData(ServiceState.Lost, ServiceState.Failed)]
    public void IsLegal_MovesThatMeanLostBookkeeping_AreNot(ServiceState from, ServiceState to) =>
        Assert.False(ServiceLifecycle.IsLegal(from, to));

    [Fact]
    public void Text_IsTheWordServiceListShows() =>
        Assert.Equal("restarting", ServiceState.Restarting.Text());
}
