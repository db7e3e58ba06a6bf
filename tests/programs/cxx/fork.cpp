// A C++ program that forks, and longjmps in the parent and in the child: it must be
// built with -fno-exceptions (Asyncify, which lets a cage fork, cannot instrument
// WebAssembly exception handling; its setjmp goes through the host then).
#include <csetjmp>
#include <iostream>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

static std::jmp_buf back;

static void leave(int code) { std::longjmp(back, code); }

static int jumped(int code) {
    int got = setjmp(back);
    if (got == 0)
        leave(code);
    return got;
}

int main() {
    std::map<std::string, int> ages{{"parent", 40}, {"child", 8}};
    std::cout << "jumped " << jumped(5) << std::endl;
    std::cout << "before fork" << std::endl;
    pid_t pid = fork();
    if (pid < 0) {
        std::cout << "fork failed" << std::endl;
        return 1;
    }
    if (pid == 0) {
        ages["child"] += 1;
        std::cout << "child is " << ages["child"] << ", jumped " << jumped(6) << std::endl;
        return 3;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::cout << "parent is " << ages["parent"] << ", child still " << ages["child"]
              << " here, child exited " << WEXITSTATUS(status) << std::endl;
    return 0;
}
