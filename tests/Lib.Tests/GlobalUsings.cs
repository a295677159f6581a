// Usings shared by every test file of Bulkhead.Lib.Tests.
global using Xunit;
