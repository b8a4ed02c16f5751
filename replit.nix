# System packages for Replit: node-gyp builds the native DSP addon (binding.gyp, native/*.cc) during `npm ci` and needs
# python3, make and a C++17 compiler. Node 24 itself comes from the nodejs-24 module in .replit.
{ pkgs }: {
  deps = [
    pkgs.python3
    pkgs.gnumake
    pkgs.gcc
  ];
}
