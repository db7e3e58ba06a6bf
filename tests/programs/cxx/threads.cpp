// The C++ thread library over the guest's pthreads: std::thread, mutexes, condition
// variables, futures and async, shared_mutex, barrier and latch, atomic wait/notify,
// call_once, thread-safe function-local statics, thread_local objects destroyed at each
// thread's end, and exceptions thrown and caught inside threads and carried across by
// futures. The output must be g++'s.
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <latch>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static std::atomic<int> destroyed{0};

struct PerThread {
    int value = 0;
    ~PerThread() { destroyed += value; }
};
static thread_local PerThread mine;

static int made_once = 0;
static int expensive() {
    ++made_once;             // a function-local static: made by exactly one thread
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return 42;
}
static int shared_static() {
    static int value = expensive();
    return value;
}

int main() {
    // threads adding under a mutex
    std::mutex m;
    long total = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            mine.value = t + 1;
            for (int i = 0; i < 50000; i++) {
                std::lock_guard<std::mutex> hold(m);
                total++;
            }
        });
    for (auto &t : threads)
        t.join();
    std::printf("mutex total %ld, thread_local destructors %d\n", total, destroyed.load());

    // a producer and a consumer on a condition variable
    std::condition_variable cv;
    std::vector<int> queue;
    bool done = false;
    long consumed = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> lock(m);
        for (;;) {
            cv.wait(lock, [&] { return !queue.empty() || done; });
            while (!queue.empty()) {
                consumed += queue.back();
                queue.pop_back();
            }
            if (done)
                return;
        }
    });
    for (int i = 1; i <= 1000; i++) {
        std::lock_guard<std::mutex> hold(m);
        queue.push_back(i);
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> hold(m);
        done = true;
    }
    cv.notify_one();
    consumer.join();
    std::printf("condition variable consumed %ld\n", consumed);
    {
        std::unique_lock<std::mutex> lock(m);
        bool timed_out = cv.wait_for(lock, std::chrono::milliseconds(10)) == std::cv_status::timeout;
        std::printf("wait_for timed out: %d\n", timed_out);
    }

    // futures: async, packaged_task, promise, an exception carried across
    auto sum = std::async(std::launch::async, [] {
        std::vector<int> v(1000);
        std::iota(v.begin(), v.end(), 1);
        return std::accumulate(v.begin(), v.end(), 0L);
    });
    std::packaged_task<std::string(int)> task([](int n) { return std::to_string(n * n); });
    auto squared = task.get_future();
    std::thread(std::move(task), 12).join();
    std::promise<int> promise;
    auto failed = promise.get_future();
    std::thread([&promise] {
        try {
            throw std::runtime_error("thrown in a thread");
        } catch (...) {
            promise.set_exception(std::current_exception());
        }
    }).join();
    std::printf("async %ld, packaged_task %s\n", sum.get(), squared.get().c_str());
    try {
        (void)failed.get();
    } catch (const std::exception &e) {
        std::printf("future carried: %s\n", e.what());
    }

    // readers and a writer on a shared_mutex
    std::shared_mutex rw;
    int value = 0, reads_ok = 0;
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; t++)
        readers.emplace_back([&] {
            for (int i = 0; i < 1000; i++) {
                std::shared_lock<std::shared_mutex> r(rw);
                if (value % 2 == 0) {
                    std::lock_guard<std::mutex> hold(m);
                    reads_ok++;
                }
            }
        });
    for (int i = 0; i < 1000; i++) {
        std::unique_lock<std::shared_mutex> w(rw);
        value++;
        value++;
    }
    for (auto &t : readers)
        t.join();
    std::printf("shared_mutex: value %d, even reads %d\n", value, reads_ok);

    // barrier, latch, atomic wait and notify, call_once, function-local statics
    std::atomic<int> phases{0};
    std::barrier sync(3, [&]() noexcept { phases++; });
    std::latch started(3);
    std::atomic<int> flag{0};
    std::once_flag once;
    int once_calls = 0;
    std::vector<std::thread> crew;
    std::atomic<int> statics{0};
    for (int t = 0; t < 3; t++)
        crew.emplace_back([&] {
            started.count_down();
            for (int round = 0; round < 5; round++)
                sync.arrive_and_wait();
            std::call_once(once, [&] { once_calls++; });
            statics += shared_static();
            flag.wait(0);
        });
    started.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    flag = 1;
    flag.notify_all();
    for (auto &t : crew)
        t.join();
    std::printf("barrier phases %d, call_once %d, statics %d made %d time(s)\n", phases.load(),
                once_calls, statics.load(), made_once);
    std::printf("hardware threads known: %d\n", std::thread::hardware_concurrency() > 0);
    return 0;
}
