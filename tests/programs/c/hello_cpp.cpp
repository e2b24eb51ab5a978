// hello_cpp: a C++ program (libstdc++, exceptions, templates) that must never be called Go.
#include <iostream>
#include <map>
#include <string>

int main(int argc, char **argv) {
    std::map<std::string, int> seen;
    for (int i = 0; i < argc; i++) seen[argv[i]]++;
    std::cout << "hello from c++, " << seen.size() << " distinct args" << std::endl;
    return 0;
}
