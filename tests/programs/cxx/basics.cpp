// The standard library at work: iostream, strings, containers, algorithms,
// smart pointers, std::function, chrono, optional/variant, string streams.
#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <iomanip>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};
struct Square : Shape {
    double s;
    explicit Square(double side) : s(side) {}
    double area() const override { return s * s; }
    std::string name() const override { return "square"; }
};
struct Circle : Shape {
    double r;
    explicit Circle(double radius) : r(radius) {}
    double area() const override { return 3.14159265358979 * r * r; }
    std::string name() const override { return "circle"; }
};

template <typename T>
T sum(const std::vector<T>& v) { return std::accumulate(v.begin(), v.end(), T{}); }

int main(int argc, char** argv) {
    std::cout << "argc=" << argc << " argv0-nonempty=" << !std::string(argv[0]).empty() << '\n';

    std::string s = "The quick brown fox jumps over the lazy dog";
    std::istringstream words(s);
    std::vector<std::string> v;
    for (std::string w; words >> w;) v.push_back(w);
    std::sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    for (const auto& w : v) std::cout << w << ' ';
    std::cout << '\n';

    std::string upper = s;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    std::cout << upper << " find(fox)=" << s.find("fox") << " substr=" << s.substr(4, 5) << '\n';

    std::map<std::string, int> counts;
    for (char c : s) if (c != ' ') counts[std::string(1, static_cast<char>(std::tolower(c)))]++;
    for (const auto& [k, n] : counts) if (n > 2) std::cout << k << ':' << n << ' ';
    std::cout << '\n';

    std::unordered_map<int, std::string> um;
    for (int i = 0; i < 1000; i++) um[i * 7] = std::to_string(i);
    std::cout << "um.size=" << um.size() << " um[693]=" << um[693] << " count(5)=" << um.count(5) << '\n';

    std::set<int> primes;
    for (int i = 2; i < 60; i++) {
        bool p = true;
        for (int d : primes) if (i % d == 0) { p = false; break; }
        if (p) primes.insert(i);
    }
    std::cout << "primes:";
    for (int p : primes) std::cout << ' ' << p;
    std::cout << '\n';

    std::deque<int> dq{3, 1, 4};
    dq.push_front(0);
    dq.push_back(9);
    std::list<int> l(dq.begin(), dq.end());
    l.reverse();
    std::cout << "list:";
    for (int x : l) std::cout << ' ' << x;
    std::vector<int> nums(20);
    std::iota(nums.begin(), nums.end(), 1);
    std::cout << " sum=" << sum(nums) << " max=" << *std::max_element(l.begin(), l.end())
              << " evens=" << std::count_if(nums.begin(), nums.end(), [](int x) { return x % 2 == 0; })
              << '\n';
    auto it = std::lower_bound(nums.begin(), nums.end(), 13);
    std::cout << "lower_bound(13) at " << (it - nums.begin()) << " binary_search(21)="
              << std::binary_search(nums.begin(), nums.end(), 21) << '\n';

    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Square>(3));
    shapes.push_back(std::make_unique<Circle>(1));
    std::shared_ptr<Shape> shared = std::make_shared<Square>(2);
    std::weak_ptr<Shape> weak = shared;
    auto copy = shared;
    std::cout << std::fixed << std::setprecision(3);
    for (const auto& sh : shapes) std::cout << sh->name() << '=' << sh->area() << ' ';
    std::cout << "use_count=" << shared.use_count() << " expired=" << weak.expired();
    shared.reset();
    copy.reset();
    std::cout << " then expired=" << weak.expired() << '\n';

    std::function<int(int)> fib = [&fib](int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
    auto add = [](int a, int b) { return a + b; };
    auto add5 = std::bind(add, 5, std::placeholders::_1);
    std::cout << "fib(20)=" << fib(20) << " add5(10)=" << add5(10) << '\n';

    std::optional<int> none, some = 42;
    std::variant<int, std::string, double> var = std::string("text");
    std::cout << "optional " << none.value_or(-1) << ' ' << *some << " variant index " << var.index();
    var = 2.5;
    std::cout << " holds double " << std::holds_alternative<double>(var) << " = " << std::get<double>(var) << '\n';

    std::ostringstream os;
    os << std::hex << 255 << ' ' << std::dec << std::setw(6) << std::setfill('*') << 42 << ' '
       << std::scientific << 12345.678;
    std::cout << os.str() << " stoi=" << std::stoi("-123") << " stod=" << std::stod("2.5e3") << '\n';

    auto t0 = std::chrono::steady_clock::now();
    volatile long spin = 0;
    for (long i = 0; i < 100000; i++) spin = spin + i;
    auto t1 = std::chrono::steady_clock::now();
    auto wall = std::chrono::system_clock::now().time_since_epoch();
    std::cout << "steady monotonic=" << (t1 >= t0) << " after 2020="
              << (std::chrono::duration_cast<std::chrono::seconds>(wall).count() > 1577836800)
              << " ms/s=" << std::chrono::milliseconds(std::chrono::seconds(2)).count() << '\n';
    return 0;
}
