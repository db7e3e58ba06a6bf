-- A mixed Lua workload: recursion, numeric loops, tables, strings, sorting, closures,
-- errors caught with pcall, coroutines. Prints only results (the same natively and in
-- a cage).   lua mixed.lua SCALE
local scale = tonumber(arg[1]) or 1

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

local function nbody(steps)
  local bodies = {}
  for i = 1, 5 do
    bodies[i] = {x = i, y = i * 0.5, z = -i, vx = 0.01 * i, vy = 0, vz = -0.01 * i, m = 1 / i}
  end
  for _ = 1, steps do
    for i = 1, #bodies do
      local a = bodies[i]
      for j = i + 1, #bodies do
        local b = bodies[j]
        local dx, dy, dz = a.x - b.x, a.y - b.y, a.z - b.z
        local d2 = dx * dx + dy * dy + dz * dz + 0.01
        local mag = 0.001 / (d2 * math.sqrt(d2))
        a.vx, a.vy, a.vz = a.vx - dx * b.m * mag, a.vy - dy * b.m * mag, a.vz - dz * b.m * mag
        b.vx, b.vy, b.vz = b.vx + dx * a.m * mag, b.vy + dy * a.m * mag, b.vz + dz * a.m * mag
      end
    end
    for _, b in ipairs(bodies) do
      b.x, b.y, b.z = b.x + 0.01 * b.vx, b.y + 0.01 * b.vy, b.z + 0.01 * b.vz
    end
  end
  local e = 0
  for _, b in ipairs(bodies) do e = e + 0.5 * b.m * (b.vx ^ 2 + b.vy ^ 2 + b.vz ^ 2) end
  return e
end

local function strings(n)
  local parts = {}
  for i = 1, n do parts[#parts + 1] = string.format("%05d:%s", i * 7 % 100000, ("x"):rep(i % 7)) end
  local text = table.concat(parts, ",")
  local count, total = 0, 0
  for num in text:gmatch("(%d+):") do count = count + 1; total = total + tonumber(num) end
  return count, total, #text:gsub("x+", "y")
end

local function sorting(n)
  local t, seed = {}, 42
  for i = 1, n do seed = (seed * 1103515245 + 12345) % 2147483648; t[i] = seed end
  table.sort(t)
  table.sort(t, function(a, b) return a % 1000 < b % 1000 or (a % 1000 == b % 1000 and a < b) end)
  return t[1], t[n // 2], t[n]
end

local function closures(n)
  local fs = {}
  for i = 1, n do local k = i; fs[i] = function(x) return x + k end end
  local s = 0
  for i = 1, n do s = fs[i](s) % 1000000007 end
  return s
end

local function errors(n)
  local caught = 0
  for i = 1, n do
    local ok, err = pcall(function(v)
      if v % 3 == 0 then error({code = v}) end
      return v
    end, i)
    if not ok then caught = caught + err.code % 7 end
  end
  return caught
end

local function coroutines(n)
  local gen = coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i) end
    return nil
  end)
  local s = 0
  for _ = 1, n do s = s + gen() end
  return s
end

print("fib", fib(24 + scale))
print("nbody", string.format("%.9f", nbody(20000 * scale)))
print("strings", strings(40000 * scale))
print("sort", sorting(50000 * scale))
print("closures", closures(200000 * scale))
print("pcall", errors(100000 * scale))
print("coroutines", coroutines(100000 * scale))
