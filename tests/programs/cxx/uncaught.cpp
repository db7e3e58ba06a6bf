// An exception nobody catches ends the program through std::terminate and
// abort(): SIGABRT. Which way it escapes is chosen by argv[1].
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

struct Guard {
    ~Guard() { std::puts("guard destroyed"); }
};

void boom() noexcept(false) { throw std::runtime_error("nobody catches this"); }
void no_throw_allowed() noexcept { boom(); }

int main(int argc, char** argv) {
    std::string how = argc > 1 ? argv[1] : "uncaught";
    std::printf("before %s\n", how.c_str());
    std::fflush(stdout);
    if (how == "uncaught") {
        boom();
    } else if (how == "noexcept") {
        no_throw_allowed();
    } else if (how == "terminate") {
        std::terminate();
    } else if (how == "handler") {
        std::set_terminate([] { std::puts("custom terminate handler"); std::fflush(stdout); std::abort(); });
        throw 1;
    } else if (how == "caught") {
        try { Guard g; boom(); } catch (const std::exception& e) { std::printf("caught %s\n", e.what()); }
        return 0;
    }
    std::puts("not reached");
    return 1;
}
