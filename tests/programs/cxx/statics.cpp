// Static storage: constructors of globals before main in definition order,
// function-local statics on first use, destructors after main in reverse
// order of construction, interleaved with atexit handlers as the standard says.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

struct Tracer {
    const char* name;
    explicit Tracer(const char* n) : name(n) { std::printf("construct %s\n", name); }
    ~Tracer() { std::printf("destroy %s\n", name); }
};

Tracer first("global-1");
static Tracer second("global-2");
std::string greeting = "hello from a global std::string";

Tracer& lazy() {
    static Tracer t("function-local");
    return t;
}

static void at_exit_1() { std::printf("atexit handler 1\n"); }
static void at_exit_2() { std::printf("atexit handler 2\n"); }

namespace {
struct Registrar {
    Registrar() { std::atexit(at_exit_1); std::printf("registrar registered atexit 1\n"); }
} registrar;
}  // namespace

Tracer third("global-3");

int main() {
    std::cout << "main starts: " << greeting << std::endl;
    lazy();
    lazy();
    std::atexit(at_exit_2);
    std::printf("main returns 7\n");
    return 7;
}
