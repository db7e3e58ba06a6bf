//! wasm32-lind: the root of the Zig-written part of the guest libc.
//!
//! Zig 0.17 ships musl with many portable functions removed (string.h,
//! ctype.h, wchar.h, most of stdlib.h and part of math.h); zig provides them
//! from Zig sources in <zig lib>/c/*.zig instead.  Those files are compiled
//! here for wasm32 as-is: at build time this file is placed next to a link
//! named `c` that points at <zig lib>/c, so their `@import("../c.zig")`
//! resolves to this file and uses the `symbol` below.
//!
//! Only architecture-independent files are imported (no unistd, fcntl,
//! sys/*, malloc: those are Linux-syscall or allocator code that the lind
//! guest provides in C).  They are compiled for the wasm32-wasi-musl target
//! only because that is how zig enables their musl-compatible exports; none
//! of them calls WASI.  Functions that report errors through errno are
//! excluded below, since the Zig code would store WASI errno numbers; the
//! guest implements them in C with Linux numbers.

const std = @import("std");

const excluded = [_][]const u8{
    "strtol",               "strtoll",               "strtoul",
    "strtoull",             "strtoimax",             "strtoumax",
    "__strtol_internal",    "__strtoll_internal",    "__strtoul_internal",
    "__strtoull_internal",  "__strtoimax_internal",  "__strtoumax_internal",
    "atoi",                 "atol",                  "atoll",
};

fn isExcluded(comptime name: []const u8) bool {
    @setEvalBranchQuota(100_000);
    inline for (excluded) |e| {
        if (comptime std.mem.eql(u8, e, name)) return true;
    }
    return false;
}

/// Export one C function: weak (musl's C objects and the lind guest layer
/// win over it) and hidden (not exported from the final wasm module).
pub inline fn symbol(comptime func: *const anyopaque, comptime name: []const u8) void {
    if (comptime isExcluded(name)) return;
    @export(func, .{ .name = name, .linkage = .weak, .visibility = .hidden });
}

comptime {
    _ = @import("c/ctype.zig");
    _ = @import("c/inttypes.zig");
    _ = @import("c/math.zig");
    _ = @import("c/search.zig");
    _ = @import("c/stdlib.zig");
    _ = @import("c/string.zig");
    _ = @import("c/strings.zig");
    _ = @import("c/wchar.zig");
    _ = @import("c/pthread.zig");
}
