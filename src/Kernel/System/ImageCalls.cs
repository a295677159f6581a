// IMAGE: executable images kept in the kernel (an optimization of RS's `-mirror`, thesis §4.2:
// recovery must not depend on the file system). Create copies a region of the caller's arena
// once into a sealed-off, read-only memfd and answers an id; SPAWN FromImage (PM, for RS)
// executes that memfd directly, so a restart copies no image at all — before, every restart
// moved the whole binary from RS to PM and then into a new memfd. Delete (the creator only)
// drops an image; the creator's end drops all of its images. Processes already started from an
// image keep running (the host kernel holds what they execute).
// Rules: at most MaxImages images, ids never reused (a stale id is ENOENT, never someone
// else's image), sizes bounded like SPAWN's in-memory images.
using Bulkhead.Kernel.Host;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private const int MaxImages = 32;

    private sealed record ImageObject(int Fd, int Owner, long Length);

    private readonly Dictionary<int, ImageObject> _images = [];
    private int _nextImageId = 1;

    private int DoImage(Proc caller, ref Message m)
    {
        var req = m.As<ImageRequest>();
        switch (req.Op)
        {
            case ImageRequest.Create:
                {
                    if (req.Length <= 0 || req.Length > MaxImageBytes) return Err.EINVAL;
                    if (!caller.Arena!.TrySlice(req.Offset, req.Length, out var bytes))
                        return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
                    if (_images.Count >= MaxImages || _nextImageId == int.MaxValue) return Err.ENOSPC;
                    string name = req.Name.ToString();
                    int fd = HostSpawner.MemoryImage(name.Length > 0 ? name : caller.Name, bytes);
                    if (fd < 0) return Err.ENOMEM;
                    int id = _nextImageId++;
                    _images.Add(id, new ImageObject(fd, caller.Endpoint, req.Length));
                    m = Message.Of(0, new ImageRequest { Op = req.Op, Id = id, Length = req.Length });
                    return Err.Ok;
                }
            case ImageRequest.Delete:
                {
                    if (!_images.TryGetValue(req.Id, out var obj)) return Err.ENOENT;
                    if (obj.Owner != caller.Endpoint) return Refused(caller, Denial.RequestRejected, Err.EPERM);
                    _images.Remove(req.Id);
                    Native.close(obj.Fd);
                    m = default;
                    return Err.Ok;
                }
            default:
                return Err.EINVAL;
        }
    }

    /// <summary>Drops every image <paramref name="p"/> created (its end), or all with null (shutdown).</summary>
    private void DropImagesOf(Proc? p)
    {
        foreach (var (id, obj) in _images.Where(kv => p is null || kv.Value.Owner == p.Endpoint).ToList())
        {
            _images.Remove(id);
            Native.close(obj.Fd);
        }
    }
}
