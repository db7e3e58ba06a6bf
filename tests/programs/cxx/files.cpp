// Files through <fstream> and <filesystem>, in the working directory (the
// cage's root in a cage).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

int main() {
    fs::create_directories("data/sub/deeper");
    {
        std::ofstream out("data/numbers.txt");
        for (int i = 1; i <= 10; i++) out << i << ' ' << i * i << '\n';
    }
    {
        std::ofstream app("data/numbers.txt", std::ios::app);
        app << "end\n";
    }
    std::ifstream in("data/numbers.txt");
    int a, b;
    long total = 0;
    while (in >> a >> b) total += b;
    std::cout << "sum of squares " << total << '\n';
    in.clear();
    std::string word;
    in >> word;
    std::cout << "then " << word << '\n';

    {
        std::ofstream bin("data/sub/blob.bin", std::ios::binary);
        for (int i = 0; i < 256; i++) bin.put(static_cast<char>(i));
    }
    std::ifstream bin("data/sub/blob.bin", std::ios::binary);
    bin.seekg(100);
    std::cout << "byte at 100: " << bin.get() << " size " << fs::file_size("data/sub/blob.bin") << '\n';

    std::fstream rw("data/rw.txt", std::ios::in | std::ios::out | std::ios::trunc);
    rw << "hello world";
    rw.seekp(6);
    rw << "cages";
    rw.seekg(0);
    std::string line;
    std::getline(rw, line);
    std::cout << "rw: " << line << '\n';
    rw.close();

    fs::rename("data/rw.txt", "data/sub/renamed.txt");
    fs::copy_file("data/numbers.txt", "data/sub/deeper/copy.txt");
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator("data"))
        names.push_back(e.path().generic_string() + (e.is_directory() ? "/" : ""));
    std::sort(names.begin(), names.end());
    for (const auto& n : names) std::cout << "  " << n << '\n';

    std::cout << "exists renamed " << fs::exists("data/sub/renamed.txt") << " rw " << fs::exists("data/rw.txt")
              << " is_directory " << fs::is_directory("data/sub") << '\n';
    fs::path p = "data/sub/renamed.txt";
    std::cout << "stem " << p.stem() << " ext " << p.extension() << " parent " << p.parent_path() << '\n';

    std::error_code ec;
    fs::remove("data/sub", ec);
    std::cout << "remove non-empty dir fails: " << (ec ? "yes" : "no") << '\n';
    try {
        (void)fs::file_size("data/nope");
    } catch (const fs::filesystem_error& e) {
        std::cout << "filesystem_error: " << e.code().message() << '\n';
    }
    std::ifstream missing("data/nope");
    std::cout << "missing ifstream good=" << missing.good() << '\n';
    std::cout << "removed " << fs::remove_all("data") << " entries, data exists " << fs::exists("data") << '\n';
    return 0;
}
