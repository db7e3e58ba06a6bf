// Exceptions: throw and catch across functions, nested try blocks, rethrow,
// the std::exception hierarchy, destructors run while unwinding (one of them
// catching an exception of its own), exception_ptr, function-try-blocks and
// std::bad_alloc.
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

struct Noisy {
    std::string name;
    explicit Noisy(std::string n) : name(std::move(n)) { std::cout << "  ctor " << name << '\n'; }
    ~Noisy() { std::cout << "  dtor " << name << '\n'; }
};

struct AppError : std::runtime_error {
    int code;
    AppError(const std::string& what, int c) : std::runtime_error(what), code(c) {}
};
struct DiskError : AppError {
    explicit DiskError(const std::string& what) : AppError("disk: " + what, 5) {}
};

// A destructor that, while the stack is unwinding, throws and catches an
// exception of its own: legal, as long as it does not escape.
struct Cleaner {
    ~Cleaner() {
        try {
            throw std::logic_error("inside destructor");
        } catch (const std::exception& e) {
            std::cout << "  cleaner caught: " << e.what() << " (uncaught_exceptions="
                      << std::uncaught_exceptions() << ")\n";
        }
    }
};

int depth3(int x) {
    Noisy n("depth3");
    if (x == 3) throw DiskError("full");
    if (x == 4) throw 42;
    if (x == 5) throw std::string("a string");
    return x * 10;
}
int depth2(int x) { Noisy n("depth2"); Cleaner c; return depth3(x) + 1; }
int depth1(int x) {
    Noisy n("depth1");
    try {
        return depth2(x);
    } catch (const AppError& e) {
        std::cout << "  depth1 saw AppError code " << e.code << ", rethrowing\n";
        throw;
    }
}

struct Widget {
    std::vector<int> data;
    explicit Widget(int n) try : data(static_cast<size_t>(n)) {
        if (n > 3) throw std::length_error("widget too big");
    } catch (const std::length_error& e) {
        std::cout << "  function-try-block: " << e.what() << '\n';
    }  // rethrown implicitly
};

// Allocate until the memory limit: std::bad_alloc, and the program goes on.
static int exhaust() {
    std::vector<std::unique_ptr<char[]>> blocks;
    try {
        for (;;) {
            blocks.emplace_back(new char[1 << 20]);
            blocks.back()[0] = 1;
        }
    } catch (const std::bad_alloc&) {
        size_t got = blocks.size();
        blocks.clear();
        std::cout << "bad_alloc after " << (got > 0 ? "some" : "no") << " MiB, "
                  << (got < 4096 ? "below 4 GiB" : "at 4 GiB") << '\n';
    }
    std::vector<int> after(1000, 1);
    std::cout << "allocating again works: " << after.size() << '\n';
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "exhaust") return exhaust();
    for (int x : {1, 3, 4, 5}) {
        std::cout << "case " << x << '\n';
        try {
            std::cout << "  result " << depth1(x) << '\n';
        } catch (const DiskError& e) {
            std::cout << "  caught DiskError: " << e.what() << " code=" << e.code << '\n';
        } catch (int v) {
            std::cout << "  caught int " << v << '\n';
        } catch (...) {
            std::cout << "  caught something else\n";
        }
    }

    std::cout << "nested\n";
    try {
        try {
            try {
                throw std::out_of_range("inner");
            } catch (const std::invalid_argument&) {
                std::cout << "  wrong handler\n";
            }
        } catch (const std::logic_error& e) {
            std::cout << "  middle caught logic_error: " << e.what() << '\n';
            throw std::runtime_error(std::string("wrapped ") + e.what());
        }
    } catch (const std::exception& e) {
        std::cout << "  outer caught: " << e.what() << '\n';
    }

    std::cout << "library exceptions\n";
    std::vector<int> v(3);
    try { v.at(10) = 1; } catch (const std::out_of_range&) { std::cout << "  vector::at out_of_range\n"; }
    try { (void)std::stoi("zebra"); } catch (const std::invalid_argument&) { std::cout << "  stoi invalid_argument\n"; }
    try { (void)std::stoi("99999999999999999999"); } catch (const std::out_of_range&) { std::cout << "  stoi out_of_range\n"; }
    std::map<std::string, int> m;
    try { (void)m.at("missing"); } catch (const std::exception&) { std::cout << "  map::at threw\n"; }
    try { (void)std::string("abc").substr(10); } catch (const std::out_of_range&) { std::cout << "  substr out_of_range\n"; }

    std::cout << "exception_ptr\n";
    std::exception_ptr saved;
    try { throw AppError("saved for later", 7); } catch (...) { saved = std::current_exception(); }
    try { std::rethrow_exception(saved); } catch (const AppError& e) { std::cout << "  rethrown: " << e.what() << ' ' << e.code << '\n'; }
    try {
        try { throw std::runtime_error("base"); }
        catch (...) { std::throw_with_nested(std::logic_error("outer")); }
    } catch (const std::logic_error& e) {
        std::cout << "  nested outer: " << e.what();
        try { std::rethrow_if_nested(e); } catch (const std::runtime_error& inner) { std::cout << " inner: " << inner.what(); }
        std::cout << '\n';
    }

    std::cout << "function-try-block\n";
    try { Widget w(10); } catch (const std::length_error& e) { std::cout << "  constructor rethrew: " << e.what() << '\n'; }
    Widget ok(2);
    std::cout << "  small widget has " << ok.data.size() << '\n';

    std::cout << "bad_alloc\n";
    try {
        void* p = ::operator new(SIZE_MAX - 65536);   // more than any address space holds
        std::cout << "  allocated?! " << (p != nullptr) << '\n';
    } catch (const std::bad_alloc& e) {
        std::cout << "  caught bad_alloc\n";
    }
    try {
        volatile size_t huge = SIZE_MAX / sizeof(int) - 64;
        std::unique_ptr<int[]> big(new int[huge]);
        std::cout << "  allocated?! " << static_cast<const void*>(big.get()) << '\n';
    } catch (const std::bad_alloc&) {
        std::cout << "  caught bad_alloc from new[]\n";
    }
    std::cout << "done, uncaught_exceptions=" << std::uncaught_exceptions() << '\n';
    return 3;
}
