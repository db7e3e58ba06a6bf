// setjmp/longjmp in C++ code that also throws: a libjpeg-style error manager and a
// C++ exception in one program.
#include <csetjmp>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

static std::jmp_buf recover;
static int depth_reached;

static void dive(int depth, int fail_at) {
    volatile char frame[32];
    frame[depth & 31] = (char)depth;
    depth_reached = depth;
    if (depth == fail_at)
        std::longjmp(recover, depth);
    dive(depth + 1, fail_at);
    (void)frame[depth & 31];
}

static int parse(const std::string &s) {
    if (s.empty() || s[0] == 'x')
        throw std::invalid_argument("bad number: " + s);
    return std::stoi(s);
}

int main() {
    std::vector<std::string> inputs = {"12", "x7", "", "40"};
    int total = 0, errors = 0;
    for (const auto &in : inputs) {
        try {
            total += parse(in);
        } catch (const std::invalid_argument &e) {
            errors++;
            std::printf("caught: %s\n", e.what());
        }
    }
    for (int round = 1; round <= 3; round++) {
        int code = setjmp(recover);
        if (code == 0) {
            dive(0, 10 * round);
        } else {
            std::printf("round %d: longjmp from depth %d (code %d)\n", round, depth_reached, code);
        }
    }
    std::printf("total %d, errors %d\n", total, errors);
    return 0;
}
