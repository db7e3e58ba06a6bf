// A C++ program that forks: it must be built with -fno-exceptions (Asyncify,
// which lets a cage fork, cannot instrument WebAssembly exception handling).
#include <iostream>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

int main() {
    std::map<std::string, int> ages{{"parent", 40}, {"child", 8}};
    std::cout << "before fork" << std::endl;
    pid_t pid = fork();
    if (pid < 0) {
        std::cout << "fork failed" << std::endl;
        return 1;
    }
    if (pid == 0) {
        ages["child"] += 1;
        std::cout << "child is " << ages["child"] << std::endl;
        return 3;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::cout << "parent is " << ages["parent"] << ", child still " << ages["child"]
              << " here, child exited " << WEXITSTATUS(status) << std::endl;
    return 0;
}
