// Usings shared by every file of the test harness.
global using Xunit;
